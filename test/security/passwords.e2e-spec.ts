import { DEFAULT_PASSWORD, signUp, signUpBody, solvedCaptcha, uniqueUsername } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

/** SECURITY.md, "Passwords": each requirement proven over HTTP against the real app. */
describe('SECURITY: Passwords', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const register = async (body: Record<string, unknown>) => t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) });

  it.each([
    ['short', 'PASSWORD_TOO_SHORT'],
    ['x'.repeat(65), 'PASSWORD_TOO_LONG'],
    ['password123', 'PASSWORD_TOO_COMMON'],
    ['iloveyou', 'PASSWORD_TOO_COMMON'],
    ['tab\there and more', 'PASSWORD_INVALID_CHARACTERS'],
  ])('refuses %j with %s', async (password, code) => {
    const response = await register(signUpBody({ password }));
    expect(response.status).toBe(400);
    expect(response.body.error).toBe(code);
    expect(response.body.details).toEqual([{ field: 'password', message: expect.any(String) }]);
  });

  it('refuses a password that contains the username or the email name', async () => {
    const username = uniqueUsername('carol');
    const withName = await register(signUpBody({ username, password: `my ${username} pass` }));
    expect(withName.body.error).toBe('PASSWORD_CONTAINS_IDENTITY');
    const withEmail = await register(signUpBody({ email: 'dragonfly@example.com', password: 'the dragonfly 99' }));
    expect(withEmail.body.error).toBe('PASSWORD_CONTAINS_IDENTITY');
  });

  it('counts characters, not bytes: 64 CJK characters are accepted', async () => {
    const response = await register(signUpBody({ password: '密'.repeat(30) + '码'.repeat(34) }));
    expect(response.status).toBe(201);
  });

  it('has no 72-byte truncation: a 72-byte password plus one more character does not sign in', async () => {
    const password = 'p'.repeat(9) + '码'.repeat(21); // 9 + 63 = 72 UTF-8 bytes, 30 characters
    expect(Buffer.byteLength(password)).toBe(72);
    const { username } = await signUp(t, { password });
    await t.http.post('/api/v1/auth/login').send({ identifier: username, password }).expect(200);
    const longer = await t.http.post('/api/v1/auth/login').send({ identifier: username, password: password + 'x' }).expect(401);
    expect(longer.body.error).toBe('INVALID_CREDENTIALS');
  });

  it('normalises passwords with NFKC: a full-width form signs in to the same account', async () => {
    const { username } = await signUp(t, { password: 'Ｆｕｌｌwidth pass 7' });
    await t.http.post('/api/v1/auth/login').send({ identifier: username, password: 'Fullwidth pass 7' }).expect(200);
  });

  it('hashes with bcrypt at the configured cost, never storing the password', async () => {
    const { user } = await signUp(t);
    const rows = await t.db.query('SELECT password_hash FROM users WHERE id = ?', [user.id]);
    expect(rows[0].password_hash).toMatch(/^\$2[aby]\$04\$/);
    expect(rows[0].password_hash).not.toContain(DEFAULT_PASSWORD);
  });
});
