import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { createUserCentreClient, UserCentreClient } from '../../clients/typescript';
import { FIRST_ADMIN, firstAdminEnv } from '../factories/admin';
import { lastCode, settledOutbox } from '../factories/codes';
import { DEFAULT_PASSWORD, uniqueUsername } from '../factories/users';
import { SoftAuthenticator } from '../helpers/soft-authenticator';
import { createTestApp, TEST_CAPTCHA, TestApp } from '../helpers/test-app';
import { totpCode } from '@/modules/mfa/totp';

/** The sign-in answer narrowed by its discriminator: a token pair (an MFA challenge fails the test). */
function tokens<T extends { mfaRequired: boolean }>(answer: T): Extract<T, { mfaRequired: false }> {
  if (answer.mfaRequired !== false) throw new Error('expected a token pair, got an MFA challenge');
  return answer as Extract<T, { mfaRequired: false }>;
}

/**
 * A whole journey driven only through the generated client. It is type-checked with the rest of
 * the project (test/client/generated.e2e-spec.ts runs tsc), so a field the document gets wrong
 * breaks the build, and what the server answers must match what the types promise.
 */
describe('The generated TypeScript client', () => {
  let t: TestApp;
  let api: UserCentreClient;
  beforeAll(async () => {
    t = await createTestApp(firstAdminEnv());
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    api = createUserCentreClient(`http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`);
  });
  afterAll(() => t.close());

  async function captcha() {
    const captchaId = randomUUID();
    const { response } = await api.GET('/api/v1/verification/captcha/{captchaId}', { params: { path: { captchaId } }, parseAs: 'arrayBuffer' });
    expect(response.headers.get('content-type')).toBe('image/png');
    return { captchaId, captchaText: TEST_CAPTCHA };
  }

  it('drives a user from sign-up to sign-out', async () => {
    const username = uniqueUsername('client');
    const signUp = await api.POST('/api/v1/users', { body: { username, email: `${username}@example.com`, password: DEFAULT_PASSWORD, displayName: 'Client User', ...(await captcha()) } });
    expect(signUp.response.status).toBe(201);
    expect(signUp.data?.data.username).toBe(username);

    const login = await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } });
    const pair = tokens(login.data!.data);
    expect(pair.tokenType).toBe('Bearer');
    const auth = { Authorization: `Bearer ${pair.accessToken}` };

    const me = await api.GET('/api/v1/users/me', { headers: auth });
    expect(me.data?.data.displayName).toBe('Client User');

    const updated = await api.PATCH('/api/v1/users/me', { headers: auth, body: { school: 'Client University' } });
    expect(updated.data?.data.school).toBe('Client University');

    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer();
    const avatar = await api.POST('/api/v1/users/me/avatar', {
      headers: auth,
      body: { file: 'avatar.png' },
      bodySerializer: () => {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'avatar.png');
        return form;
      },
    });
    expect(avatar.response.status).toBe(201);
    expect(avatar.data?.data.avatarUrl).toMatch(/\/api\/v1\/avatars\/.+\.webp$/);

    const refreshed = await api.POST('/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } });
    const fresh = refreshed.data!.data;
    const freshAuth = { Authorization: `Bearer ${fresh.accessToken}` };

    const sessions = await api.GET('/api/v1/auth/sessions', { headers: freshAuth });
    expect(sessions.data?.data.items.some((session) => session.current)).toBe(true);

    const logout = await api.DELETE('/api/v1/auth/session', { headers: freshAuth });
    expect(logout.response.status).toBe(200);
    const refused = await api.GET('/api/v1/users/me', { headers: freshAuth });
    expect(refused.response.status).toBe(401);
    expect(refused.error?.error).toBe('UNAUTHENTICATED');
  });

  it('drives an admin: list users, disable one, and that user is out', async () => {
    const username = uniqueUsername('victim');
    await api.POST('/api/v1/users', { body: { username, email: `${username}@example.com`, password: DEFAULT_PASSWORD, ...(await captcha()) } });
    const victim = tokens((await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data);

    const admin = tokens((await api.POST('/api/v1/auth/login', { body: { identifier: FIRST_ADMIN.username, password: FIRST_ADMIN.password } })).data!.data);
    const adminAuth = { Authorization: `Bearer ${admin.accessToken}` };
    const list = await api.GET('/api/v1/admin/users', { headers: adminAuth, params: { query: { q: username, page: 1, pageSize: 10 } } });
    const found = list.data!.data.items.find((user) => user.username === username)!;
    expect(found.status).toBe('active');

    const disabled = await api.PATCH('/api/v1/admin/users/{id}', { headers: adminAuth, params: { path: { id: found.id } }, body: { status: 'disabled' } });
    expect(disabled.data?.data.status).toBe('disabled');

    const after = await api.GET('/api/v1/users/me', { headers: { Authorization: `Bearer ${victim.accessToken}` } });
    expect(after.response.status).toBe(401);
    const refresh = await api.POST('/api/v1/auth/refresh', { body: { refreshToken: victim.refreshToken } });
    expect(refresh.response.status).toBe(401);
  });

  it('drives a second factor: TOTP enrolment, the MFA challenge narrowed by mfaRequired, recovery codes', async () => {
    const username = uniqueUsername('client_mfa');
    await api.POST('/api/v1/users', { body: { username, email: `${username}@example.com`, password: DEFAULT_PASSWORD, ...(await captcha()) } });
    const first = tokens((await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data);
    const auth = { Authorization: `Bearer ${first.accessToken}` };

    // An authenticator is a sign-in method: the email is proven first (403 EMAIL_NOT_VERIFIED before).
    const refused = await api.POST('/api/v1/users/me/mfa/totp', { headers: auth });
    expect(refused.error?.error).toBe('EMAIL_NOT_VERIFIED');
    await settledOutbox(t, async () => expect((await api.POST('/api/v1/users/me/email/verification-code', { headers: auth })).response.status).toBe(202), `${username}@example.com`);
    const verified = await api.POST('/api/v1/users/me/email/verification', { headers: auth, body: { code: lastCode(t, `${username}@example.com`, 'verify_email')! } });
    expect(verified.data?.data.emailVerified).toBe(true);

    const started = (await api.POST('/api/v1/users/me/mfa/totp', { headers: auth })).data!.data;
    expect(started.otpauthUrl).toContain(started.secret);
    const confirmed = await api.POST('/api/v1/users/me/mfa/totp/confirm', { headers: auth, body: { code: totpCode(started.secret, t.clock.now()) } });
    const recoveryCodes = confirmed.data!.data.recoveryCodes!;
    expect(recoveryCodes).toHaveLength(10);
    expect((await api.GET('/api/v1/users/me/mfa', { headers: auth })).data?.data).toMatchObject({ totp: { enabled: true }, recoveryCodesLeft: 10 });
    await t.passTime(30_000);

    const challenge = (await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data;
    if (!challenge.mfaRequired) throw new Error('expected an MFA challenge');
    expect(challenge.methods).toEqual(['totp', 'recovery_code']);
    const wrong = await api.POST('/api/v1/auth/mfa/verify', { body: { mfaToken: challenge.mfaToken, method: 'totp', code: '000000' } });
    expect(wrong.error?.error).toBe('MFA_INVALID');
    const byTotp = await api.POST('/api/v1/auth/mfa/verify', { body: { mfaToken: challenge.mfaToken, method: 'totp', code: totpCode(started.secret, t.clock.now()) } });
    expect(byTotp.data!.data.mfaRequired).toBe(false);
    const totpAuth = { Authorization: `Bearer ${byTotp.data!.data.accessToken}` };

    const regenerated = (await api.POST('/api/v1/users/me/mfa/recovery-codes', { headers: totpAuth })).data!.data.recoveryCodes!;
    expect(regenerated).toHaveLength(10);
    const again = (await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data;
    if (!again.mfaRequired) throw new Error('expected an MFA challenge');
    const stale = await api.POST('/api/v1/auth/mfa/verify', { body: { mfaToken: again.mfaToken, method: 'recovery_code', code: recoveryCodes[0] } });
    expect(stale.error?.error).toBe('MFA_INVALID');
    const byCode = await api.POST('/api/v1/auth/mfa/verify', { body: { mfaToken: again.mfaToken, method: 'recovery_code', code: regenerated[0] } });
    const codeAuth = { Authorization: `Bearer ${byCode.data!.data.accessToken}` };
    expect((await api.GET('/api/v1/users/me/mfa', { headers: codeAuth })).data?.data.recoveryCodesLeft).toBe(9);

    const stepUp = await api.POST('/api/v1/auth/reauthenticate', { headers: codeAuth, body: { method: 'totp', code: totpCode(started.secret, t.clock.now() + 30_000) } });
    expect(stepUp.data!.data.mfaRequired).toBe(false);
    const removed = await api.DELETE('/api/v1/users/me/mfa/totp', { headers: { Authorization: `Bearer ${stepUp.data!.data.accessToken}` } });
    expect(removed.response.status).toBe(200);
  });

  it('drives passkeys: registration, a username-less sign-in, the second factor after a password, rename and removal', async () => {
    const username = uniqueUsername('client_pk');
    const email = `${username}@example.com`;
    await api.POST('/api/v1/users', { body: { username, email, password: DEFAULT_PASSWORD, ...(await captcha()) } });
    const first = tokens((await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data);
    const auth = { Authorization: `Bearer ${first.accessToken}` };
    await settledOutbox(t, async () => expect((await api.POST('/api/v1/users/me/email/verification-code', { headers: auth })).response.status).toBe(202), email);
    await api.POST('/api/v1/users/me/email/verification', { headers: auth, body: { code: lastCode(t, email, 'verify_email')! } });

    // The tests' app accepts the default origin http://localhost:PORT with PORT unset (3000).
    const authenticator = new SoftAuthenticator('http://localhost:3000');
    const options = (await api.POST('/api/v1/users/me/passkeys/options', { headers: auth })).data!.data;
    expect(options.authenticatorSelection.residentKey).toBe('required');
    const added = await api.POST('/api/v1/users/me/passkeys', { headers: auth, body: { response: authenticator.register(options).json, name: 'Client key' } });
    expect(added.response.status).toBe(201);
    const passkey = added.data!.data;
    expect(passkey.recoveryCodes).toHaveLength(10);

    const start = (await api.POST('/api/v1/auth/passkeys/options')).data!.data;
    const signedIn = await api.POST('/api/v1/auth/login/passkey', { body: { challengeId: start.challengeId, response: authenticator.assert(start.options) } });
    expect(signedIn.data!.data.user.username).toBe(username);
    const keyAuth = { Authorization: `Bearer ${signedIn.data!.data.accessToken}` };

    const challenge = (await api.POST('/api/v1/auth/login', { body: { identifier: username, password: DEFAULT_PASSWORD } })).data!.data;
    if (!challenge.mfaRequired) throw new Error('expected an MFA challenge');
    expect(challenge.methods).toEqual(['passkey', 'recovery_code']);
    const mfaOptions = (await api.POST('/api/v1/auth/mfa/passkey-options', { body: { mfaToken: challenge.mfaToken } })).data!.data;
    const byPasskey = await api.POST('/api/v1/auth/mfa/verify', { body: { mfaToken: challenge.mfaToken, method: 'passkey', response: authenticator.assert(mfaOptions) } });
    expect(byPasskey.data!.data.mfaRequired).toBe(false);

    const renamed = await api.PATCH('/api/v1/users/me/passkeys/{id}', { headers: keyAuth, params: { path: { id: passkey.id } }, body: { name: 'Renamed' } });
    expect(renamed.data!.data.name).toBe('Renamed');
    expect((await api.GET('/api/v1/users/me/mfa', { headers: keyAuth })).data!.data.passkeys).toEqual([expect.objectContaining({ id: passkey.id, name: 'Renamed' })]);
    const removed = await api.DELETE('/api/v1/users/me/passkeys/{id}', { headers: keyAuth, params: { path: { id: passkey.id } } });
    expect(removed.response.status).toBe(200);
  });
});
