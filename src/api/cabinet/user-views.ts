// The JSON of cabinet users and groups: a user with its direct and effective access, a group
// with its members, computed from the organization's directory (src/access/user-admin.ts).
import { effectiveOf, liveGroupIds } from '../../access/user-admin.js';
import { inPermissionOrder } from '../../access/permissions.js';
import type { GroupRecord, OrgUsers, UserRecord } from '../../storage/users.js';

export const userViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    login: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string', enum: ['owner', 'user'] },
    pointIds: { type: 'array', items: { type: 'integer' } },
    groupIds: { type: 'array', items: { type: 'integer' } },
    permissions: { type: 'array', items: { type: 'string' } },
    effectivePointIds: {
      type: 'array',
      items: { type: 'integer' },
      description: 'Direct and group grants; every point of the organization for the owner',
    },
    effectivePermissions: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export const groupViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    pointIds: { type: 'array', items: { type: 'integer' } },
    permissions: { type: 'array', items: { type: 'string' } },
    memberIds: { type: 'array', items: { type: 'integer' } },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

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
