// Cashier passwords (COMMAND_AUTH, typed on a register's keypad, so digits are welcome): at
// least 6 characters, not one character repeated, not a run of consecutive digits or letters
// (123456, 654321, abcdef) and not one of the most common passwords. The register's attempts
// are limited as well (storage/cashier-auth-limits.ts), so a 6-digit PIN is not guessed in time.
export const CASHIER_PASSWORD_MIN_LENGTH = 6;

const COMMON = new Set(['password', 'qwerty', 'qwerty123', '123123', '111222', 'kassa', 'kassir']);

function isRun(text: string): boolean {
  const codes = [...text.toLowerCase()].map((c) => c.codePointAt(0)!);
  const step = codes[1]! - codes[0]!;
  return Math.abs(step) <= 1 && codes.every((c, i) => i === 0 || c - codes[i - 1]! === step);
}

/** What is wrong with a cashier password (for `field`), or null when it is acceptable. */
export function cashierPasswordProblem(password: string, field: string): string | null {
  if ([...password].length < CASHIER_PASSWORD_MIN_LENGTH) {
    return `${field} must be at least ${CASHIER_PASSWORD_MIN_LENGTH} characters long`;
  }
  if (isRun(password)) return `${field} must not be one character repeated or a run like 123456`;
  if (COMMON.has(password.toLowerCase())) return `${field} is one of the most common passwords`;
  return null;
}
