import { createUserCentreClient } from '../../clients/typescript';

/**
 * What the committed client's types promise, checked by the compiler: `tsc --noEmit` over the whole
 * project (test/client/generated.e2e-spec.ts runs it) fails on a `@ts-expect-error` whose line
 * compiles. The calls are never made; `typed` only gives the compiler something to check.
 */
async function typed(): Promise<void> {
  const api = createUserCentreClient('http://127.0.0.1:9');
  const login = await api.POST('/api/v1/auth/login', { body: { identifier: 'alice_01', password: 'correct horse battery' } });
  if (login.data) {
    // @ts-expect-error the sign-in answer may be an MFA challenge: tokens only after narrowing on mfaRequired
    void login.data.data.accessToken;
    const answer = login.data.data;
    if (answer.mfaRequired) {
      const mfaToken: string = answer.mfaToken;
      void mfaToken;
      return;
    }
    const token: string = answer.accessToken;
    // @ts-expect-error a typo in a field of `data` does not compile (data is exactly TokenPairDto)
    void answer.acessToken;
    // @ts-expect-error nor does a field the envelope does not have
    void login.data.datum;
    void token;
  }
  const me = await api.GET('/api/v1/users/me', { headers: { Authorization: 'Bearer x' } });
  // @ts-expect-error the own view has no password hash
  void me.data?.data.passwordHash;

  // No operation needs an Accept-Language header: these compile without one.
  await api.GET('/.well-known/jwks.json');
  await api.POST('/api/v1/verification/email-codes', { body: { email: 'a@example.com', purpose: 'register', captchaId: '00000000-0000-4000-8000-000000000000', captchaText: 'abcde' } });
  await api.POST('/api/v1/auth/password-reset', { body: { channel: 'email', email: 'a@example.com', code: '123456', newPassword: 'another long passphrase' } });
  // An operation with nothing to return answers `data: {}`, and nothing can be read from it.
  const signedOut = await api.DELETE('/api/v1/auth/session', { headers: { Authorization: 'Bearer x' } });
  // @ts-expect-error data is an empty object
  void signedOut.data?.data.anything;
}

describe('The committed client types', () => {
  it('exist for the compiler (the checks above run in tsc, see generated.e2e-spec.ts)', () => {
    expect(typeof typed).toBe('function');
  });
});
