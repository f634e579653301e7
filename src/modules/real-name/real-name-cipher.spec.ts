import { randomBytes } from 'node:crypto';
import { loadConfig } from '@/config/app-config';
import { RealNameCipher } from './real-name-cipher';
import { RealNameKeys } from './real-name-keys';

function cipherWith(keys: string, index: string): RealNameCipher {
  return new RealNameCipher(new RealNameKeys(loadConfig({ REAL_NAME_ENCRYPTION_KEYS: keys, REAL_NAME_INDEX_KEY: index })));
}

describe('RealNameCipher', () => {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('hex');
  const index = randomBytes(32).toString('base64');
  const user = '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11';

  it('seals with a fresh IV every time and opens again', () => {
    const cipher = cipherWith(`k1:${k1}`, index);
    const a = cipher.seal('11010519491231002X', 'id_card', user);
    const b = cipher.seal('11010519491231002X', 'id_card', user);
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').subarray(0, 12).equals(Buffer.from(b, 'base64').subarray(0, 12))).toBe(false);
    expect(Buffer.from(a, 'base64')).toHaveLength(12 + 18 + 16);
    expect(a).not.toContain('11010519491231002X');
    expect(cipher.open(a, 'k1', 'id_card', user)).toBe('11010519491231002X');
  });

  it('refuses a ciphertext moved to another account or field, or tampered with', () => {
    const cipher = cipherWith(`k1:${k1}`, index);
    const sealed = cipher.seal('张三', 'real_name', user);
    expect(() => cipher.open(sealed, 'k1', 'real_name', 'another-user')).toThrow();
    expect(() => cipher.open(sealed, 'k1', 'id_card', user)).toThrow();
    const bytes = Buffer.from(sealed, 'base64');
    bytes[14] ^= 1;
    expect(() => cipher.open(bytes.toString('base64'), 'k1', 'real_name', user)).toThrow();
  });

  it('keeps reading records of an older key after a rotation, and writes with the first key', () => {
    const before = cipherWith(`k1:${k1}`, index);
    const old = before.seal('张三', 'real_name', user);
    const after = cipherWith(`k2:${k2},k1:${k1}`, index);
    expect(after.currentKeyId).toBe('k2');
    expect(after.open(old, 'k1', 'real_name', user)).toBe('张三');
    const fresh = after.seal('张三', 'real_name', user);
    expect(() => before.open(fresh, 'k2', 'real_name', user)).toThrow(/not configured/);
    expect(() => after.open(fresh, 'k1', 'real_name', user)).toThrow();
  });

  it('gives a stable blind index that depends on the index key only', () => {
    const a = cipherWith(`k1:${k1}`, index);
    const rotated = cipherWith(`k2:${k2},k1:${k1}`, index);
    const other = cipherWith(`k1:${k1}`, randomBytes(32).toString('base64'));
    expect(a.blindIndex('11010519491231002X')).toMatch(/^[0-9a-f]{64}$/);
    expect(a.blindIndex('11010519491231002X')).toBe(rotated.blindIndex('11010519491231002X'));
    expect(a.blindIndex('11010519491231002X')).not.toBe(other.blindIndex('11010519491231002X'));
    expect(a.blindIndex('11010519491231002X')).not.toBe(a.blindIndex('110101200001010010'));
  });
});
