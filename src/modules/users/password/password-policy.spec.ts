import { AppException } from '@/common/errors';
import { assertAcceptablePassword, passwordProblem } from './password-policy';

const limits = { minLength: 8, maxLength: 64 };

describe('password policy', () => {
  // First, so it is the test that loads the list (mutation testing attributes the lazy load to it).
  it('refuses entries of the shipped common-password list in any case', () => {
    expect(passwordProblem('PASSWORD1', limits)?.code).toBe('PASSWORD_TOO_COMMON');
    expect(passwordProblem('qwertyuiop', limits)?.code).toBe('PASSWORD_TOO_COMMON');
  });

  it('accepts a long passphrase with no composition rules', () => {
    expect(passwordProblem('violet sunrise over hills', limits)).toBeNull();
  });

  it('counts characters after NFKC, not bytes', () => {
    expect(passwordProblem('密码'.repeat(32), limits)).toBeNull();
    expect(passwordProblem('密码'.repeat(32) + 'x', limits)?.code).toBe('PASSWORD_TOO_LONG');
    expect(passwordProblem('ｐａｓｓ', limits)?.code).toBe('PASSWORD_TOO_SHORT');
  });

  it('refuses control characters', () => {
    expect(passwordProblem('abc\u0007defghij', limits)?.code).toBe('PASSWORD_INVALID_CHARACTERS');
  });

  it('checks names of 3 characters or more: shorter ones, which any password may contain, are not refused', () => {
    expect(passwordProblem('abc loves sunshine', limits, { email: 'abc@example.com' })?.code).toBe('PASSWORD_CONTAINS_IDENTITY');
    expect(passwordProblem('ab loves sunshine', limits, { email: 'ab@example.com', username: 'ab' })).toBeNull();
  });

  it('refuses passwords built from the username or the email name', () => {
    expect(passwordProblem('xx-Alice_01-yy', limits, { username: 'alice_01' })?.code).toBe('PASSWORD_CONTAINS_IDENTITY');
    expect(passwordProblem('my name is bobby!', limits, { email: 'bobby@example.com' })?.code).toBe('PASSWORD_CONTAINS_IDENTITY');
  });

  it('honours a stricter configured minimum', () => {
    expect(passwordProblem('elevenchars', { minLength: 12, maxLength: 64 })?.code).toBe('PASSWORD_TOO_SHORT');
  });

  it('accepts exactly the minimum and the maximum length', () => {
    expect(passwordProblem('violet s', limits)).toBeNull();
    expect(passwordProblem('violet ', limits)?.code).toBe('PASSWORD_TOO_SHORT');
    expect(passwordProblem('v'.repeat(63) + 's', limits)).toBeNull();
  });

  it('assertAcceptablePassword throws the problem as a 400 naming the password field, and passes an acceptable one', () => {
    expect(() => assertAcceptablePassword('violet sunrise over hills', limits)).not.toThrow();
    let thrown: unknown;
    try {
      assertAcceptablePassword('xx-Alice_01-yy', limits, { username: 'alice_01' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AppException);
    const error = thrown as AppException;
    expect(error.entry.code).toBe('PASSWORD_CONTAINS_IDENTITY');
    expect(error.extra).toStrictEqual({ details: [{ field: 'password', message: error.entry.message.en }] });
    expect(error.entry.message.en).not.toBe('');
  });
});
