import type { Principal } from './principal';
import { isRecentlyAuthenticated } from './recent-auth';

const now = 1_800_000_000_000;
const principal = (over: Partial<Principal>): Principal => ({ userId: 'u', role: 'normal_user', sessionId: 's', tokenId: 'j', authTime: now / 1000 - 60, via: 'bearer', amr: ['pwd'], ...over });

describe('isRecentlyAuthenticated (the one rule behind every ⏱ route)', () => {
  it('needs an authentication within RECENT_AUTH_SECONDS', () => {
    expect(isRecentlyAuthenticated(principal({}), now, 3600)).toBe(true);
    expect(isRecentlyAuthenticated(principal({ authTime: now / 1000 - 3601 }), now, 3600)).toBe(false);
    expect(isRecentlyAuthenticated(principal({ authTime: null, via: 'api-key' }), now, 3600)).toBe(false);
  });

  it('with MFA on the account, that authentication must include the second factor', () => {
    expect(isRecentlyAuthenticated(principal({ mfaEnabled: true }), now, 3600)).toBe(false);
    expect(isRecentlyAuthenticated(principal({ mfaEnabled: true, amr: ['pwd', 'otp', 'mfa'] }), now, 3600)).toBe(true);
    // The account's current state, when the caller has the row, wins over the token's.
    expect(isRecentlyAuthenticated(principal({ mfaEnabled: false }), now, 3600, true)).toBe(false);
    expect(isRecentlyAuthenticated(principal({ mfaEnabled: true, amr: ['pwd', 'otp', 'mfa'], authTime: now / 1000 - 3601 }), now, 3600)).toBe(false);
  });
});
