import { allErrors, defineErrors } from './errors';
import '@/modules/users/users.errors';
import '@/modules/auth/auth.errors';
import '@/modules/verification/verification.errors';
import '@/modules/human-check/human-check.errors';

describe('the error catalog', () => {
  it('has unique UPPER_SNAKE codes with both languages', () => {
    const codes = allErrors().map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const entry of allErrors()) {
      expect(entry.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.message.en.length).toBeGreaterThan(0);
      expect(entry.message['zh-CN'].length).toBeGreaterThan(0);
    }
  });

  it('refuses a code declared twice', () => {
    expect(() => defineErrors({ NOT_FOUND: { status: 404, message: { en: 'x', 'zh-CN': 'x' } } })).toThrow(/declared twice/);
  });
});
