/**
 * The event catalogue of contract §12 (the part built so far) and the data each type carries.
 * Receivers read current values from the service; an event only says what changed, so it never
 * carries a password, code, token, email address, phone number, ID number or real name — the
 * types below admit ids, field names and small enumerations only.
 */
export interface EventDataByType {
  'user.created': { userId: string };
  /** `fields`: names of the profile fields whose values changed (PATCH /users/me). */
  'user.updated': { userId: string; fields: ProfileField[] };
  'user.email_changed': { userId: string };
  'user.phone_changed': { userId: string };
  /** `via`: a change by the user (old password known) or a reset by code. */
  'user.password_changed': { userId: string; via: 'change' | 'reset' };
  'user.role_changed': { userId: string; from: string; to: string };
  'user.disabled': { userId: string };
  'user.enabled': { userId: string };
  'user.deleted': { userId: string };
  'user.real_name_verified': { userId: string };
  /** `provider`: the configured provider's name (e.g. github), never the person's id or email there. */
  'user.identity_linked': { userId: string; provider: string };
  'user.identity_unlinked': { userId: string; provider: string };
  /**
   * A second factor changed. `factor`: which one (`all` for an admin reset or a reclaim); `change`:
   * `added`, `removed`, `regenerated` (recovery codes) or `reset`. Never a secret, code or credential id.
   */
  'user.mfa_changed': { userId: string; factor: MfaFactor; change: MfaChange };
  /**
   * `reason`: the user signed out of it (logout), revoked it from the session list (revoked), or a new
   * sign-in passed SESSIONS_PER_USER and it was the one idle the longest (session_limit).
   */
  'session.revoked': { userId: string; sessionId: string; reason: 'logout' | 'revoked' | 'session_limit' };
}

export type EventType = keyof EventDataByType;

export const EVENT_TYPES: readonly EventType[] = [
  'user.created',
  'user.updated',
  'user.email_changed',
  'user.phone_changed',
  'user.password_changed',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.real_name_verified',
  'user.mfa_changed',
  'user.identity_linked',
  'user.identity_unlinked',
  'session.revoked',
];

export const MFA_FACTORS = ['totp', 'passkey', 'recovery_codes', 'all'] as const;
export type MfaFactor = (typeof MFA_FACTORS)[number];
export type MfaChange = 'added' | 'removed' | 'regenerated' | 'reset';

export const PROFILE_FIELDS = ['displayName', 'intro', 'github', 'school', 'website'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

/** An event as receivers get it: `{id, type, timestamp, data: {userId, ...}}`. */
export interface EventBody<T extends EventType = EventType> {
  id: string;
  type: T;
  timestamp: string;
  data: EventDataByType[T];
}
