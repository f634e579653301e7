import type { AccessTokenClaims } from './principal';
import { sessionStartOf } from './principal';

const claims = (over: Partial<AccessTokenClaims>): AccessTokenClaims => ({
  sub: 'u',
  role: 'normal_user',
  sid: 's',
  jti: 'j',
  auth_time: 1_800_000_000,
  iat: 1_800_000_000,
  exp: 1_800_000_900,
  iss: 'https://id.example.test',
  aud: 'user-centre',
  ...over,
});

describe('sessionStartOf (what a revoke-all cut-off is compared with)', () => {
  it('answers the session_start_ms claim, in milliseconds, even 0', () => {
    expect(sessionStartOf(claims({ session_start_ms: 1_799_999_000_123 }))).toBe(1_799_999_000_123);
    expect(sessionStartOf(claims({ session_start_ms: 0 }))).toBe(0);
  });

  it('counts a token without the claim, or with a claim that is not a number, as started at the epoch (every cut-off covers it)', () => {
    expect(sessionStartOf(claims({}))).toBe(0);
    expect(sessionStartOf(claims({ session_start_ms: '1799999000123' as unknown as number }))).toBe(0);
    expect(sessionStartOf(claims({ session_start_ms: null as unknown as number }))).toBe(0);
  });
});
