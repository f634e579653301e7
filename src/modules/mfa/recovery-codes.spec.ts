import { newRecoveryCodes, normaliseRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes';

describe('recovery codes', () => {
  it('are ten distinct "xxxxx-xxxxx" codes without look-alike characters', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$/);
    expect(newRecoveryCodes()).not.toEqual(codes);
  });

  it('are read back in any case, with or without the dash or spaces; anything else is refused', () => {
    expect(normaliseRecoveryCode('K7M2P-9XQ4R')).toBe('k7m2p9xq4r');
    expect(normaliseRecoveryCode(' k7m2p 9xq4r ')).toBe('k7m2p9xq4r');
    expect(normaliseRecoveryCode('k7m2p-9xq4')).toBeNull();
    expect(normaliseRecoveryCode('k7m2p-9xq4r!')).toBeNull();
  });
});
