// JSON schemas the cabinet's identity routes (auth, users, groups) share.
import { PERMISSIONS } from '../../access/permissions.js';
import { idSchema } from '../http/schemas.js';

/** A list of distinct ids (points of sale, groups, users). */
export const idList = (description: string) =>
  ({ type: 'array', maxItems: 1000, uniqueItems: true, items: idSchema, description }) as const;

export const permissionsSchema = {
  type: 'array',
  uniqueItems: true,
  items: { type: 'string', enum: [...PERMISSIONS] },
  description: `Cabinet modules: ${PERMISSIONS.join(', ')}`,
} as const;
