import { randomBytes } from 'node:crypto';
import { loadConfig } from '@/config/app-config';
import { RealNameCipher } from '@/modules/real-name/real-name-cipher';
import { RealNameKeys } from '@/modules/real-name/real-name-keys';
import { matchingTotpStep, newTotpSecret, totpCode, totpUrl } from './totp';

/** RFC 6238 appendix B, SHA-1 rows: the ASCII secret "12345678901234567890"; 6 digits are the last 6 of its 8. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const RFC_VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step)', () => {
  it.each(RFC_VECTORS)('at T=%i s the code is the last 6 digits of %s', (seconds, eight) => {
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(eight.slice(2));
    expect(matchingTotpStep(RFC_SECRET, eight.slice(2), seconds * 1000)).toBe(Math.floor(seconds / 30));
  });

  it('accepts the previous and the next step, not two away, and names the step a code belongs to', () => {
    const now = 1234567890_000;
    const step = Math.floor(now / 30_000);
    expect(matchingTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now - 30_000), now)).toBe(step - 1);
    expect(matchingTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now + 30_000), now)).toBe(step + 1);
    expect(matchingTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now - 60_000), now)).toBeNull();
    expect(matchingTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now + 60_000), now)).toBeNull();
  });

  it('refuses anything that is not 6 digits', () => {
    const now = 59_000;
    expect(matchingTotpStep(RFC_SECRET, '94287082', now)).toBeNull();
    expect(matchingTotpStep(RFC_SECRET, ' 287082', now)).toBeNull();
    expect(matchingTotpStep(RFC_SECRET, '', now)).toBeNull();
  });

  it('makes 160-bit base32 secrets and otpauth:// URLs that authenticator apps read', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(newTotpSecret()).not.toBe(secret);
    const url = new URL(totpUrl(secret, 'User Centre', 'alice'));
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(Object.fromEntries(url.searchParams)).toEqual({ issuer: 'User Centre', secret, algorithm: 'SHA1', digits: '6', period: '30' });
  });

  it('secrets sealed with the real-name key ring keep opening after a key rotation (key id stored), bound to their account', () => {
    const index = randomBytes(32).toString('base64');
    const k1 = randomBytes(32).toString('base64');
    const k2 = randomBytes(32).toString('base64');
    const before = new RealNameCipher(new RealNameKeys(loadConfig({ REAL_NAME_ENCRYPTION_KEYS: `k1:${k1}`, REAL_NAME_INDEX_KEY: index })));
    const secret = newTotpSecret();
    const sealed = before.seal(secret, 'totp_secret', 'user-1');
    expect(before.currentKeyId).toBe('k1');
    const after = new RealNameCipher(new RealNameKeys(loadConfig({ REAL_NAME_ENCRYPTION_KEYS: `k2:${k2},k1:${k1}`, REAL_NAME_INDEX_KEY: index })));
    expect(after.currentKeyId).toBe('k2');
    expect(after.open(sealed, 'k1', 'totp_secret', 'user-1')).toBe(secret);
    expect(() => after.open(sealed, 'k1', 'totp_secret', 'user-2')).toThrow();
    expect(() => after.open(sealed, 'k1', 'real_name', 'user-1')).toThrow();
  });
});
