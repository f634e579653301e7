/** Normalisation rules for the things people sign in with. Pure functions: the unit specs pin them down. */

import { isOneWritingSystem, usernameSkeleton } from './username-confusables';

const INVISIBLE = /[\p{Cf}\p{Cc}\p{Zl}\p{Zp}\u115F\u1160\u3164\uFFA0\u200B-\u200F\u2060-\u2064\uFEFF]/u;
const USERNAME = /^[\p{L}\p{N}_.-]{5,32}$/u;

/** What a username becomes: as shown (NFKC), its key (the confusable skeleton), and whether it mixes writing systems. */
export interface NormalisedUsername {
  username: string;
  key: string;
  mixesScripts: boolean;
}

/** The longest key the username_key column holds (a skeleton can be longer than its name: m → rn). */
const MAX_KEY_LENGTH = 255;

/**
 * Null when the name is not 5-32 letters, digits, `_`, `.`, `-` (after NFKC) or holds an invisible
 * character. A name that mixes writing systems comes back marked, not null: its owner learns first
 * whether it is taken (`rооtadmin` is, when `rootadmin` exists), then that it is refused.
 */
export function normaliseUsername(input: string): NormalisedUsername | null {
  if (INVISIBLE.test(input)) return null;
  const username = input.normalize('NFKC');
  if (!USERNAME.test(username)) return null;
  const key = usernameSkeleton(username);
  if (key.length > MAX_KEY_LENGTH) return null;
  return { username, key, mixesScripts: !isOneWritingSystem(username) };
}

/** Usernames are unique, and looked up, by their confusable skeleton (Unicode TS #39): case, width and look-alikes fold together. */
export function usernameKey(input: string): string {
  return usernameSkeleton(input);
}

export function emailKey(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

/**
 * E.164 normalisation: `+<country><number>` kept (spaces, dashes, brackets dropped); a bare
 * 11-digit Chinese mobile number takes the default region's prefix. Anything else is null.
 */
export function normalisePhone(input: string, defaultCountryCode = '86'): string | null {
  const compact = input.trim().replace(/[\s\-().]/g, '');
  if (/^\+[1-9]\d{6,14}$/.test(compact)) return compact;
  if (/^00[1-9]\d{6,14}$/.test(compact)) return `+${compact.slice(2)}`;
  if (defaultCountryCode === '86' && /^1[3-9]\d{9}$/.test(compact)) return `+86${compact}`;
  return null;
}

export type IdentifierKind = { kind: 'email'; key: string } | { kind: 'phone'; phone: string; usernameKey: string } | { kind: 'username'; key: string };

/** What a sign-in identifier names: an email has an @; a phone-shaped string may also be a username. */
export function classifyIdentifier(identifier: string): IdentifierKind {
  if (identifier.includes('@')) return { kind: 'email', key: emailKey(identifier) };
  const phone = normalisePhone(identifier);
  if (phone) return { kind: 'phone', phone, usernameKey: usernameKey(identifier) };
  return { kind: 'username', key: usernameKey(identifier) };
}
