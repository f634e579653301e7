import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@/config/app-config';
import { lastCode, outbox, requestEmailCode, requestSmsCode, userWithEmailAndPhone } from '../factories/codes';
import { bearer, LIVE, meStatus, REVOKED, sessionAnswers, signInFrom } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signUp, signUpBody, solvedCaptcha, uniqueUsername } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const NEW_PASSWORD = 'amber meadow 77';

/** SECURITY.md, "Passwords": each requirement proven over HTTP against the real app. */
describe('SECURITY: Passwords', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const register = async (body: Record<string, unknown>, app = t) => app.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(app)) });
  const login = (identifier: string, password: string) => t.http.post('/api/v1/auth/login').send({ identifier, password });
  const changePassword = (headers: Record<string, string>, body: Record<string, unknown>) => t.http.put('/api/v1/users/me/password').set(headers).send(body);

  describe('8–64 characters (NIST floor; configurable up to ASVS’s 12), any printable Unicode, NFKC-normalised before hashing, no composition rules', () => {
    it.each([
      ['short12', 'PASSWORD_TOO_SHORT', 'Password is too short'],
      ['x'.repeat(65), 'PASSWORD_TOO_LONG', 'Password is too long'],
      ['tab\there and more', 'PASSWORD_INVALID_CHARACTERS', 'Password contains control characters'],
      ['new\nline in it', 'PASSWORD_INVALID_CHARACTERS', 'Password contains control characters'],
    ])('refuses %j with %s, and the error says why', async (password, code, message) => {
      const response = await register(signUpBody({ password }));
      expect(response.status).toBe(400);
      expect(response.body.error).toBe(code);
      expect(response.body.details).toEqual([{ field: 'password', message }]);
    });

    it('accepts exactly 8 and exactly 64 characters', async () => {
      await register(signUpBody({ password: 'eightch8' })).then((r) => expect(r.status).toBe(201));
      await register(signUpBody({ password: 'y'.repeat(63) + 'z' })).then((r) => expect(r.status).toBe(201));
    });

    it('counts characters, not bytes: 64 CJK characters are accepted', async () => {
      const response = await register(signUpBody({ password: '密'.repeat(30) + '码'.repeat(34) }));
      expect(response.status).toBe(201);
    });

    it.each([
      ['only lower-case letters and spaces', 'quiet lantern river'],
      ['only digits', '73519826440'],
      ['emoji, CJK and symbols', '🐉 龍舟 fête — ok!'],
    ])('has no composition rules and takes any printable Unicode: %s', async (_kind, password) => {
      const { username } = await signUp(t, { password });
      await login(username, password).expect(200);
    });

    it('normalises passwords with NFKC: a full-width form signs in to the same account', async () => {
      const { username } = await signUp(t, { password: 'Ｆｕｌｌwidth pass 7' });
      await login(username, 'Fullwidth pass 7').expect(200);
    });

    it('PASSWORD_MIN_LENGTH raises the floor to ASVS’s 12, and never below NIST’s 8', async () => {
      const strict = await createTestApp({ PASSWORD_MIN_LENGTH: '12' });
      try {
        expect((await register(signUpBody({ password: 'quiet fern1' }), strict)).body.error).toBe('PASSWORD_TOO_SHORT');
        expect((await register(signUpBody({ password: 'quiet fern12' }), strict)).status).toBe(201);
      } finally {
        await strict.close();
      }
      expect(() => loadConfig({ NODE_ENV: 'test', PASSWORD_MIN_LENGTH: '7' })).toThrow(ConfigError);
    });
  });

  describe('A list of the 10,000 most common passwords shipped with the service, plus refusal of passwords that contain the username or email local part; the error says why', () => {
    const shipped = readFileSync(join(__dirname, '..', '..', 'src', 'modules', 'users', 'password', 'common-passwords.txt'), 'utf8').split('\n').filter(Boolean);

    it('refuses the shipped list of the 10,000 most common passwords, in any case', async () => {
      expect(new Set(shipped).size).toBe(10_000);
      // Every 50th entry and the last one: the whole list over HTTP would take minutes.
      const sample = shipped.filter((_, i) => i % 50 === 0 || i === shipped.length - 1);
      const withLetters = shipped.filter((password) => /[a-z]/.test(password)).slice(-3).map((password) => password.toUpperCase());
      for (const password of [...sample, ...withLetters]) {
        const response = await register(signUpBody({ password }));
        expect([password, response.status, response.body.error]).toEqual([password, 400, 'PASSWORD_TOO_COMMON']);
      }
      const answer = await register(signUpBody({ password: shipped[0] }));
      expect(answer.body.details).toEqual([{ field: 'password', message: 'Password is one of the most commonly used passwords' }]);
    });

    it('refuses a password that contains the username or the email name', async () => {
      const username = uniqueUsername('carol');
      const withName = await register(signUpBody({ username, password: `my ${username.toUpperCase()} pass` }));
      expect(withName.body.error).toBe('PASSWORD_CONTAINS_IDENTITY');
      expect(withName.body.details).toEqual([{ field: 'password', message: 'Password must not contain your username or email name' }]);
      const withEmail = await register(signUpBody({ email: 'dragonfly@example.com', password: 'the dragonfly 99' }));
      expect(withEmail.body.error).toBe('PASSWORD_CONTAINS_IDENTITY');
    });
  });

  describe('bcrypt, cost 12; bcrypt ignores bytes past 72, so pre-hash — and sign-in must behave the same way', () => {
    it('hashes with bcrypt at cost 12 by default (or the configured cost), never storing the password', async () => {
      const { user } = await signUp(t);
      const [configured] = await t.db.query('SELECT password_hash FROM users WHERE id = ?', [user.id]);
      expect(configured.password_hash).toMatch(/^\$2[aby]\$04\$/);
      const defaults = await createTestApp({ BCRYPT_COST: '' });
      try {
        const account = await signUp(defaults);
        const [row] = await defaults.db.query('SELECT password_hash FROM users WHERE id = ?', [account.user.id]);
        expect(row.password_hash).toMatch(/^\$2[aby]\$12\$.{53}$/);
        expect(row.password_hash).not.toContain(DEFAULT_PASSWORD);
      } finally {
        await defaults.close();
      }
    });

    it('has no 72-byte truncation: a 72-byte password plus one more character does not sign in', async () => {
      const password = 'p'.repeat(9) + '码'.repeat(21); // 9 + 63 = 72 UTF-8 bytes, 30 characters
      expect(Buffer.byteLength(password)).toBe(72);
      const { username } = await signUp(t, { password });
      await login(username, password).expect(200);
      const longer = await login(username, password + 'x').expect(401);
      expect(longer.body.error).toBe('INVALID_CREDENTIALS');
    });
  });

  describe('Changing a password needs the current one; the new one may not equal the old; change and reset revoke every other session and pending code, and notify the user', () => {
    it('needs the current password: a wrong one is 400 PASSWORD_INCORRECT and changes nothing', async () => {
      const user = await signedInUser(t);
      const response = await changePassword(user.auth, { oldPassword: 'not my password', newPassword: NEW_PASSWORD }).expect(400);
      expect(response.body.error).toBe('PASSWORD_INCORRECT');
      await login(user.username, DEFAULT_PASSWORD).expect(200);
      expect((await changePassword(user.auth, { newPassword: NEW_PASSWORD }).expect(400)).body.error).toBe('VALIDATION_FAILED');
      await login(user.username, NEW_PASSWORD).expect(401);
    });

    it('refuses a new password equal to the old one (after NFKC), or one the policy refuses', async () => {
      const user = await signedInUser(t, { password: 'Ｗide old phrase 5' });
      expect((await changePassword(user.auth, { oldPassword: 'Ｗide old phrase 5', newPassword: 'Wide old phrase 5' }).expect(400)).body.error).toBe('PASSWORD_UNCHANGED');
      expect((await changePassword(user.auth, { oldPassword: user.password, newPassword: 'baseball' }).expect(400)).body.error).toBe('PASSWORD_TOO_COMMON');
      expect((await changePassword(user.auth, { oldPassword: user.password, newPassword: 'short' }).expect(400)).body.error).toBe('PASSWORD_TOO_SHORT');
      expect((await changePassword(user.auth, { oldPassword: user.password, newPassword: `x${user.username}x` }).expect(400)).body.error).toBe('PASSWORD_CONTAINS_IDENTITY');
    });

    /** Codes waiting on both of the account's channels, and how many messages went out before the change. */
    async function pendingCodes(account: { email: string; phone: string }) {
      await requestSmsCode(t, account.phone, 'login');
      await requestSmsCode(t, account.phone, 'reset_password');
      return { sms: lastCode(t, account.phone, 'login')!, smsReset: lastCode(t, account.phone, 'reset_password')!, sent: outbox(t).length };
    }
    const smsLogin = (phone: string, smsCode: string) => t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode });
    const smsReset = (phone: string, code: string) => t.http.post('/api/v1/auth/password-reset').send({ channel: 'sms', phone, code, newPassword: 'never set phrase 8' });
    const noticesSince = (sent: number, to: string) => outbox(t).slice(sent).filter((entry) => entry.to === to && entry.purpose === 'notice' && entry.code === null);

    it('a change keeps the current session, revokes every other one and the API key, kills pending codes and notifies the user', async () => {
      const account = await userWithEmailAndPhone(t);
      const current = await signInFrom(t, account.username, 'Current');
      const other = await signInFrom(t, account.username, 'Other');
      const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(bearer(other)).expect(201)).body.data.apiKey;
      await requestEmailCode(t, account.email, 'reset_password');
      const emailReset = lastCode(t, account.email, 'reset_password')!;
      const pending = await pendingCodes(account);

      const response = await changePassword(bearer(current), { oldPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD }).expect(200);
      expect(response.body).toEqual({ code: 200, data: {}, msg: 'Password changed' });

      expect(await sessionAnswers(t, other)).toEqual(REVOKED);
      expect(await sessionAnswers(t, current)).toEqual(LIVE);
      expect((await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(401)).body.error).toBe('API_KEY_INVALID');
      expect((await smsLogin(account.phone, pending.sms).expect(400)).body.error).toBe('CODE_EXPIRED');
      expect((await smsReset(account.phone, pending.smsReset).expect(400)).body.error).toBe('CODE_EXPIRED');
      const emailAnswer = await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: emailReset, newPassword: 'never set phrase 8' }).expect(400);
      expect(emailAnswer.body.error).toBe('CODE_EXPIRED');
      expect(noticesSince(pending.sent, account.email)).toHaveLength(1);

      expect((await login(account.username, DEFAULT_PASSWORD).expect(401)).body.error).toBe('INVALID_CREDENTIALS');
      await login(account.username, NEW_PASSWORD).expect(200);
    });

    it('a reset revokes every session and the API key, kills the other pending codes and notifies the user', async () => {
      const account = await userWithEmailAndPhone(t);
      const one = await signInFrom(t, account.username, 'One');
      const two = await signInFrom(t, account.username, 'Two');
      const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(bearer(one)).expect(201)).body.data.apiKey;
      const pending = await pendingCodes(account);
      await requestEmailCode(t, account.email, 'reset_password');
      const code = lastCode(t, account.email, 'reset_password');

      await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code, newPassword: NEW_PASSWORD }).expect(200);

      expect(await sessionAnswers(t, one)).toEqual(REVOKED);
      expect(await sessionAnswers(t, two)).toEqual(REVOKED);
      expect((await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(401)).body.error).toBe('API_KEY_INVALID');
      expect((await smsLogin(account.phone, pending.sms).expect(400)).body.error).toBe('CODE_EXPIRED');
      expect((await smsReset(account.phone, pending.smsReset).expect(400)).body.error).toBe('CODE_EXPIRED');
      expect(noticesSince(pending.sent, account.email)).toHaveLength(1);
      await login(account.username, NEW_PASSWORD).expect(200);
      expect(await meStatus(t, one)).toBe(401);
    });
  });
});
