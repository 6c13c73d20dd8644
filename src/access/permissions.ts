// The cabinet's modules a user or group can be granted; the organization's owner has all.
export const PERMISSIONS = [
  'transactions',
  'reports',
  'analytics',
  'exports',
  'users',
  'organization',
  // Points of sale, KKM registration and tokens, applications (cabinet manual §3–8, §15).
  'kkms',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const isPermission = (p: string): p is Permission =>
  (PERMISSIONS as readonly string[]).includes(p);

/** Known permissions in catalogue order, each once. */
export function inPermissionOrder(permissions: Iterable<string>): Permission[] {
  const set = new Set(permissions);
  return PERMISSIONS.filter((p) => set.has(p));
}
