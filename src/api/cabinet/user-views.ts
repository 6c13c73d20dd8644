// The JSON of cabinet users and groups: a user with its direct and effective access, a group
// with its members, computed from the organization's directory (src/access/user-admin.ts).
import { effectiveOf, liveGroupIds } from '../../access/user-admin.js';
import { inPermissionOrder } from '../../access/permissions.js';
import type { GroupRecord, OrgUsers, UserRecord } from '../../storage/users.js';
import { Type } from 'typebox';
import { answerEnum, answerObject } from '../http/schemas.js';

export const userViewSchema = answerObject({
  id: Type.Integer(),
  login: Type.String(),
  name: Type.String(),
  email: Type.String(),
  role: answerEnum(['owner', 'user']),
  pointIds: Type.Array(Type.Integer()),
  groupIds: Type.Array(Type.Integer()),
  permissions: Type.Array(Type.String()),
  effectivePointIds: Type.Array(Type.Integer(), {
    description: 'Direct and group grants; every point of the organization for the owner',
  }),
  effectivePermissions: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

export const groupViewSchema = answerObject({
  id: Type.Integer(),
  name: Type.String(),
  pointIds: Type.Array(Type.Integer()),
  permissions: Type.Array(Type.String()),
  memberIds: Type.Array(Type.Integer()),
  createdAt: Type.String({ format: 'date-time' }),
});

export function userJson(org: OrgUsers, u: UserRecord) {
  const groupIds = liveGroupIds(org, u);
  const eff = effectiveOf(org, { ...u, groupIds });
  return {
    id: u.userId,
    login: u.login,
    name: u.name,
    email: u.email,
    role: u.role,
    pointIds: u.pointIds,
    groupIds,
    permissions: inPermissionOrder(u.permissions),
    effectivePointIds: eff.pointIds,
    effectivePermissions: eff.permissions,
    createdAt: new Date(u.createdAt).toISOString(),
  };
}

export function groupJson(org: OrgUsers, g: GroupRecord) {
  return {
    id: g.groupId,
    name: g.name,
    pointIds: g.pointIds,
    permissions: inPermissionOrder(g.permissions),
    memberIds: org.users.filter((u) => u.groupIds.includes(g.groupId)).map((u) => u.userId),
    createdAt: new Date(g.createdAt).toISOString(),
  };
}
