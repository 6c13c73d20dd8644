// Route schemas the cabinet's identity routes (auth, users, groups) share.
import { Type } from 'typebox';
import { PERMISSIONS } from '../../access/permissions.js';
import { idSchema } from '../http/schemas.js';

/** A list of distinct ids (points of sale, groups, users). */
export const idList = (description: string) =>
  Type.Array(idSchema, { maxItems: 1000, uniqueItems: true, description });

export const permissionsSchema = Type.Array(Type.Enum(PERMISSIONS, { type: 'string' }), {
  uniqueItems: true,
  description: `Cabinet modules: ${PERMISSIONS.join(', ')}`,
});
