import type { Principal } from './principal';

/**
 * The one rule behind every ⏱ route: the caller authenticated within RECENT_AUTH_SECONDS, and when
 * the account has a second factor, that authentication included it (`mfa` in amr). `accountHasMfa`
 * defaults to what the token says; callers holding the account row pass its current state.
 */
export function isRecentlyAuthenticated(principal: Principal, nowMs: number, recentAuthSeconds: number, accountHasMfa = principal.mfaEnabled === true): boolean {
  if (principal.authTime === null || nowMs / 1000 - principal.authTime > recentAuthSeconds) return false;
  return !accountHasMfa || (principal.amr ?? []).includes('mfa');
}
