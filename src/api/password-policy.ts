// The cabinet password policy (cabinet manual, "Создание учетной записи администратора"):
// at least 8 characters, at least one lowercase and one uppercase Latin letter, and at least
// one special character from `@ ? * = + ! /`. Used by the operator admin API for an org
// owner's password and by the cabinet for users and password changes.

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_SPECIALS = '@?*=+!/';

export interface PasswordRule {
  id: 'length' | 'lowercase' | 'uppercase' | 'special';
  message: string;
  test: (password: string) => boolean;
}

export const PASSWORD_RULES: readonly PasswordRule[] = [
  {
    id: 'length',
    message: `must be at least ${PASSWORD_MIN_LENGTH} characters long`,
    test: (p) => [...p].length >= PASSWORD_MIN_LENGTH,
  },
  {
    id: 'lowercase',
    message: 'must contain a lowercase Latin letter (a-z)',
    test: (p) => /[a-z]/.test(p),
  },
  {
    id: 'uppercase',
    message: 'must contain an uppercase Latin letter (A-Z)',
    test: (p) => /[A-Z]/.test(p),
  },
  {
    id: 'special',
    message: `must contain a special character from ${PASSWORD_SPECIALS.split('').join(' ')}`,
    test: (p) => [...PASSWORD_SPECIALS].some((c) => p.includes(c)),
  },
];

/** The rules `password` fails, in policy order; empty when it is acceptable. */
export function passwordPolicyFailures(password: string): PasswordRule[] {
  return PASSWORD_RULES.filter((rule) => !rule.test(password));
}

/**
 * A message naming every failed rule (`<field> must be at least 8 characters long; must
 * contain …`), or null when the password satisfies the policy.
 */
export function checkPasswordPolicy(password: string, field = 'password'): string | null {
  const failed = passwordPolicyFailures(password);
  if (failed.length === 0) return null;
  return `${field} ${failed.map((r) => r.message).join('; ')}`;
}
