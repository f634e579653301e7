import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppException, ErrorEntry } from '@/common/errors';
import { UsersErrors } from '../users.errors';

let commonPasswords: Set<string> | null = null;

function common(): Set<string> {
  commonPasswords ??= new Set(readFileSync(join(__dirname, 'common-passwords.txt'), 'utf8').split('\n').filter(Boolean));
  return commonPasswords;
}

export interface PasswordContext {
  username?: string | null;
  email?: string | null;
}

/**
 * NIST 800-63B rules: length in characters after NFKC, any printable Unicode, no composition
 * rules, refuse the most common passwords and ones built from the account's own names.
 */
export function passwordProblem(password: string, limits: { minLength: number; maxLength: number }, context: PasswordContext = {}): ErrorEntry | null {
  const normalised = password.normalize('NFKC');
  const length = [...normalised].length;
  if (length < limits.minLength) return UsersErrors.PASSWORD_TOO_SHORT;
  if (length > limits.maxLength) return UsersErrors.PASSWORD_TOO_LONG;
  if (/\p{Cc}/u.test(normalised)) return UsersErrors.PASSWORD_INVALID_CHARACTERS;
  const lowered = normalised.toLowerCase();
  if (common().has(lowered)) return UsersErrors.PASSWORD_TOO_COMMON;
  const names = [context.username, context.email?.split('@')[0]]
    .filter((name): name is string => !!name && name.length >= 3)
    .map((name) => name.normalize('NFKC').toLowerCase());
  if (names.some((name) => lowered.includes(name))) return UsersErrors.PASSWORD_CONTAINS_IDENTITY;
  return null;
}

export function assertAcceptablePassword(password: string, limits: { minLength: number; maxLength: number }, context: PasswordContext = {}): void {
  const problem = passwordProblem(password, limits, context);
  if (problem) throw new AppException(problem, { details: [{ field: 'password', message: problem.message.en }] });
}
