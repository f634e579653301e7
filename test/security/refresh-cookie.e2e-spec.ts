// REFRESH_TOKEN_COOKIE (contract §10, browser sessions): the refresh token in an HttpOnly cookie bound
// to the auth routes, out of the JSON; cookie requests only from an allowed Origin with X-Requested-With.
// On the embedded default, and on MariaDB + Redis (the same file with DATABASE_URL/REDIS_URL), where the
// burst also runs over two instances.
import { federatedSignIn, federationEnv, idpClients, idpPerson } from '../factories/federation';
import { lastCode, phoneUser, requestSmsCode } from '../factories/codes';
import { currentCode, enrolTotp } from '../factories/mfa';
import { passkeyLogin, passkeyUser } from '../factories/passkeys';
import { bearer } from '../factories/sessions';
import { DEFAULT_PASSWORD, signUp, verifyEmail } from '../factories/users';
import { OidcIdp } from '../helpers/oidc-idp';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend, createTestApp, TestApp } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances } from '../helpers/two-instances';

jest.setTimeout(120_000);

const SPA = 'https://spa.test';
const COOKIE = '__Secure-uc_refresh';
const FROM_SPA = { Origin: SPA, 'X-Requested-With': 'XMLHttpRequest' };

type Answer = { status: number; headers: Record<string, unknown>; body: { data?: Record<string, unknown>; error?: string } };

/** The Set-Cookie lines of an answer that name the refresh cookie. */
function refreshCookies(response: Answer): string[] {
  const lines = ([] as string[]).concat((response.headers['set-cookie'] as string[] | string | undefined) ?? []);
  return lines.filter((line) => line.startsWith(`${COOKIE}=`));
}

/** The refresh token an answer set as the cookie (and asserts it set exactly one, with every attribute). */
function cookieSetBy(response: Answer, maxAge: number): string {
  const [line, ...more] = refreshCookies(response);
  expect(more).toEqual([]);
  const value = /^__Secure-uc_refresh=([^;]+);/.exec(line ?? '')?.[1];
  expect(value).toMatch(/^\S{20,}$/);
  expect(line).toBe(`${COOKIE}=${value}; Max-Age=${maxAge}; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict`);
  return decodeURIComponent(value!);
}

function expectCleared(response: Answer): void {
  expect(refreshCookies(response)).toEqual([`${COOKIE}=; Max-Age=0; Path=/api/v1/auth; HttpOnly; Secure; SameSite=Strict`]);
}

/** A token pair's JSON in cookie mode: the access token and the user, never the refresh token. */
function expectPairWithoutRefreshToken(response: Answer): string {
  expect(response.status).toBe(200);
  expect(response.body.data).toMatchObject({ mfaRequired: false, tokenType: 'Bearer' });
  expect(response.body.data).not.toHaveProperty('refreshToken');
  expect(JSON.stringify(response.body)).not.toContain('rt_');
  return response.body.data!.accessToken as string;
}

describe('REFRESH_TOKEN_COOKIE: the refresh token as an HttpOnly cookie (contract §10)', () => {
  let t: TestApp;
  let idp: OidcIdp;
  const ttl = 30 * 24 * 3600;

  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
    t = await createTestApp({ ...federationEnv(idp, ['corp']), REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: SPA });
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });

  const cookieHeader = (token: string) => ({ Cookie: `${COOKIE}=${encodeURIComponent(token)}` });
  const refreshWithCookie = (token: string, headers: Record<string, string> = FROM_SPA) => t.http.post('/api/v1/auth/refresh').set({ ...headers, ...cookieHeader(token) });
  async function signInByPassword(username: string) {
    const response = await t.http.post('/api/v1/auth/login').set(FROM_SPA).send({ identifier: username, password: DEFAULT_PASSWORD });
    const accessToken = expectPairWithoutRefreshToken(response);
    return { accessToken, refreshToken: cookieSetBy(response, ttl) };
  }

  it('every route that answers a token pair sets the cookie (exact attributes) and leaves refreshToken out of the JSON: password, SMS, MFA verify, step-up, federation', async () => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);

    const { phone } = await phoneUser(t);
    await requestSmsCode(t, phone, 'login');
    const sms = await t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode: lastCode(t, phone, 'login') });
    expectPairWithoutRefreshToken(sms);
    cookieSetBy(sms, ttl);

    await verifyEmail(t, bearer(pair), account.email);
    const { secret } = await enrolTotp(t, pair);
    const challenge = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
    expect(challenge.body.data.mfaRequired).toBe(true);
    expect(refreshCookies(challenge)).toEqual([]); // an MFA challenge is not a session
    const verified = await t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: challenge.body.data.mfaToken, method: 'totp', code: currentCode(t, secret) });
    const mfaAccess = expectPairWithoutRefreshToken(verified);
    cookieSetBy(verified, ttl);

    await t.passTime(30_000);
    const stepUp = await t.http.post('/api/v1/auth/reauthenticate').set(bearer({ accessToken: mfaAccess })).send({ method: 'totp', code: currentCode(t, secret) });
    expectPairWithoutRefreshToken(stepUp);
    // The step-up renews the session it is in: the cookie lives as long as that session (opened 30 s ago).
    cookieSetBy(stepUp, ttl - 30);

    const person = await idpPerson(idp);
    const federated = await federatedSignIn(t, idp, 'corp', person.id);
    expect(federated).not.toHaveProperty('refreshToken');
  });

  it('federation exchange sets the cookie too', async () => {
    const person = await idpPerson(idp);
    // federatedSignIn answers only the body; the exchange's headers are checked through a second sign-in here.
    const { deliverCallback, providerCallback } = await import('../factories/federation');
    const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
    const exchange = await t.http.post('/api/v1/auth/oauth/exchange').send({ result: back.searchParams.get('result') });
    expectPairWithoutRefreshToken(exchange);
    cookieSetBy(exchange, ttl);
  });

  it('passkey sign-in (POST /auth/login/passkey) sets the cookie too', async () => {
    const user = await passkeyUser(t);
    const answer = await passkeyLogin(t, user.authenticator);
    expectPairWithoutRefreshToken(answer);
    cookieSetBy(answer, ttl);
  });

  it('refresh through the cookie rotates it; the old cookie is refused, its replay revokes the session and clears the cookie', async () => {
    const account = await signUp(t);
    const first = await signInByPassword(account.username);
    const rotated = await refreshWithCookie(first.refreshToken);
    const access = expectPairWithoutRefreshToken(rotated);
    const second = cookieSetBy(rotated, ttl);
    expect(second).not.toBe(first.refreshToken);

    const replay = await refreshWithCookie(first.refreshToken);
    expect([replay.status, replay.body.error]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
    expectCleared(replay);
    // Reuse revoked the whole family: the newest cookie and the access token die with it.
    expect((await refreshWithCookie(second)).status).toBe(401);
    expect((await t.http.get('/api/v1/users/me').set(bearer({ accessToken: access }))).status).toBe(401);
  });

  it.each([
    ['no Origin', 'COOKIE_ORIGIN_NOT_ALLOWED', { 'X-Requested-With': 'XMLHttpRequest' }],
    ['another Origin', 'COOKIE_ORIGIN_NOT_ALLOWED', { Origin: 'https://evil.test', 'X-Requested-With': 'XMLHttpRequest' }],
    ['Origin: null', 'COOKIE_ORIGIN_NOT_ALLOWED', { Origin: 'null', 'X-Requested-With': 'XMLHttpRequest' }],
    ['a look-alike Origin', 'COOKIE_ORIGIN_NOT_ALLOWED', { Origin: 'https://spa.test.evil.test', 'X-Requested-With': 'XMLHttpRequest' }],
    ['no X-Requested-With', 'COOKIE_REQUESTED_WITH_REQUIRED', { Origin: SPA }],
    ['another X-Requested-With', 'COOKIE_REQUESTED_WITH_REQUIRED', { Origin: SPA, 'X-Requested-With': 'fetch' }],
  ])('a cookie refresh with %s → 403 %s; nothing is spent and the cookie stays', async (_case, error, headers) => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);
    const refused = await refreshWithCookie(pair.refreshToken, headers as Record<string, string>);
    expect([refused.status, refused.body.error]).toEqual([403, error]);
    expect(refreshCookies(refused)).toEqual([]);
    // A body token cannot smuggle the request past the check while the cookie rides along.
    const withBody = await refreshWithCookie(pair.refreshToken, headers as Record<string, string>).send({ refreshToken: pair.refreshToken });
    expect([withBody.status, withBody.body.error]).toEqual([403, error]);
    expectPairWithoutRefreshToken(await refreshWithCookie(pair.refreshToken));
  });

  it('sign-out clears the cookie and revokes the session; from a wrong origin it is refused and revokes nothing', async () => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);
    const signOut = (headers: Record<string, string>) => t.http.delete('/api/v1/auth/session').set({ ...bearer(pair), ...cookieHeader(pair.refreshToken), ...headers });

    const refused = await signOut({ Origin: 'https://evil.test', 'X-Requested-With': 'XMLHttpRequest' });
    expect([refused.status, refused.body.error]).toEqual([403, 'COOKIE_ORIGIN_NOT_ALLOWED']);
    expect((await signOut({ Origin: SPA })).body.error).toBe('COOKIE_REQUESTED_WITH_REQUIRED');
    expect((await t.http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(200);

    const done = await signOut(FROM_SPA);
    expect(done.status).toBe(200);
    expectCleared(done);
    expect((await t.http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(401);
    const after = await refreshWithCookie(pair.refreshToken);
    expect([after.status, after.body.error]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  });

  // One browser profile holds one cookie: a second sign-in (another tab, another account) replaces it, while
  // the first tab still sends its own bearer token. Signing out there must not strand the cookie's session.
  it("sign-out with one session's bearer and another session's cookie, both the same account's: both sessions end and the cookie is cleared", async () => {
    const account = await signUp(t);
    const first = await signInByPassword(account.username);
    const second = await signInByPassword(account.username);
    const third = await signInByPassword(account.username);
    const done = await t.http.delete('/api/v1/auth/session').set({ ...bearer(first), ...cookieHeader(second.refreshToken), ...FROM_SPA });
    expect(done.status).toBe(200);
    expectCleared(done);
    for (const pair of [first, second]) expect((await t.http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(401);
    const stranded = await refreshWithCookie(second.refreshToken);
    expect([stranded.status, stranded.body.error]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
    // Each ended session is a sign-out of its own, audited and announced; the account's other sessions stay.
    const sessions = (await t.http.get('/api/v1/auth/sessions').set(bearer(third)).expect(200)).body.data.items as { current: boolean }[];
    expect(sessions.map(({ current }) => current)).toEqual([true]);
    const signOuts = (await t.db.query(`SELECT actor_id FROM audit_events WHERE user_id = ? AND type = 'sign_out'`, [account.user.id])) as unknown[];
    expect(signOuts).toHaveLength(2);
  });

  it("sign-out with one account's bearer and another account's cookie: the bearer's session ends and the cookie is cleared; the other account's session is not the caller's to end", async () => {
    const caller = await signUp(t);
    const other = await signUp(t);
    const callerPair = await signInByPassword(caller.username);
    const otherPair = await signInByPassword(other.username);
    const done = await t.http.delete('/api/v1/auth/session').set({ ...bearer(callerPair), ...cookieHeader(otherPair.refreshToken), ...FROM_SPA });
    expect(done.status).toBe(200);
    expectCleared(done);
    expect((await t.http.get('/api/v1/users/me').set(bearer(callerPair))).status).toBe(401);
    expect((await t.http.get('/api/v1/users/me').set(bearer(otherPair))).status).toBe(200);
    expect(await t.db.query(`SELECT id FROM audit_events WHERE user_id = ? AND type = 'sign_out'`, [other.user.id])).toEqual([]);
    cookieSetBy(await refreshWithCookie(otherPair.refreshToken).expect(200), ttl);
  });

  it('sign-out with a cookie that names no live session (spent, revoked or made up) ends the bearer session and clears the cookie', async () => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);
    const done = await t.http.delete('/api/v1/auth/session').set({ ...bearer(pair), ...cookieHeader('rt_not-a-token-anyone-was-given'), ...FROM_SPA });
    expect(done.status).toBe(200);
    expectCleared(done);
    expect((await t.http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(401);
  });

  it('of 10 parallel refreshes with one cookie exactly one wins (then the session is revoked as a replay)', async () => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);
    const answers = await Promise.all(Array.from({ length: 10 }, () => refreshWithCookie(pair.refreshToken)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array(9).fill(401)]);
    const winner = answers.find((answer) => answer.status === 200)!;
    expectPairWithoutRefreshToken(winner);
    const [{ n }] = await t.db.query('SELECT COUNT(*) AS n FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = ?', [account.user.id]);
    expect(Number(n)).toBe(2); // the spent token and one successor: the losers minted nothing
  });

  it('a body refreshToken still works without a cookie (sessions from before the switch, non-browser clients), and moves the session into the cookie', async () => {
    const account = await signUp(t);
    const pair = await signInByPassword(account.username);
    const byBody = await t.http.post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken });
    expectPairWithoutRefreshToken(byBody);
    cookieSetBy(byBody, ttl);
    // A wrong body token is an ordinary failure: no cookie was used, none is cleared.
    const wrong = await t.http.post('/api/v1/auth/refresh').send({ refreshToken: 'rt_nothing' });
    expect([wrong.status, wrong.body.error, refreshCookies(wrong)]).toEqual([401, 'REFRESH_TOKEN_INVALID', []]);
    // Neither cookie nor body: the SPA is told to sign in again.
    const none = await t.http.post('/api/v1/auth/refresh').set(FROM_SPA);
    expect([none.status, none.body.error]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
  });

  it('CORS lets the SPA origin send credentials (the cookie) and no other origin', async () => {
    const preflight = (origin: string) =>
      t.http.options('/api/v1/auth/refresh').set({ Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-requested-with,content-type' });
    const allowed = await preflight(SPA);
    expect(allowed.headers['access-control-allow-origin']).toBe(SPA);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    expect(String(allowed.headers['access-control-allow-headers']).toLowerCase()).toContain('x-requested-with');
    const other = await preflight('https://evil.test');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('REFRESH_TOKEN_COOKIE off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: SPA });
  });
  afterAll(() => t?.close());

  it('sets no cookie, keeps refreshToken in the JSON, ignores a cookie, and sends no credentials over CORS', async () => {
    const account = await signUp(t);
    const login = await t.http.post('/api/v1/auth/login').set(FROM_SPA).send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
    expect(login.headers['set-cookie']).toBeUndefined();
    const refreshToken = login.body.data.refreshToken as string;
    expect(refreshToken).toMatch(/^rt_/);
    const byCookie = await t.http.post('/api/v1/auth/refresh').set({ ...FROM_SPA, Cookie: `${COOKIE}=${refreshToken}` });
    expect([byCookie.status, byCookie.body.error]).toEqual([400, 'VALIDATION_FAILED']);
    const preflight = await t.http.options('/api/v1/auth/refresh').set({ Origin: SPA, 'Access-Control-Request-Method': 'POST' });
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

// Two instances share sessions only through MariaDB and Redis; the embedded run has nothing to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

describeOnBoth('REFRESH_TOKEN_COOKIE across two instances sharing MySQL and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: SPA, RATE_LIMIT_PER_MINUTE: '100000', LOGIN_PER_IP_PER_MINUTE: '100000', REGISTRATION_PER_IP_PER_HOUR: '100000' });
    ({ a, b } = instances);
  });
  afterAll(() => instances?.stop());

  it('20 parallel refreshes with one cookie, spread over A and B: exactly one wins; a cookie from A works on B', async () => {
    const body = await signUpOn(a);
    const login = await a.http.post('/api/v1/auth/login').set(FROM_SPA).send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200);
    expect(login.body.data).not.toHaveProperty('refreshToken');
    const first = cookieSetBy(login as unknown as Answer, 30 * 24 * 3600);
    const onB = await b.http.post('/api/v1/auth/refresh').set({ ...FROM_SPA, Cookie: `${COOKIE}=${encodeURIComponent(first)}` });
    expect(onB.status).toBe(200);
    // Real clocks here: the Max-Age is what is left of the session, a second or so under the TTL.
    const [line] = refreshCookies(onB as unknown as Answer);
    expect(line).toMatch(/^__Secure-uc_refresh=[^;]+; Max-Age=259\d{4}; Path=\/api\/v1\/auth; HttpOnly; Secure; SameSite=Strict$/);
    const cookie = decodeURIComponent(/=([^;]+);/.exec(line)![1]);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).http.post('/api/v1/auth/refresh').set({ ...FROM_SPA, Cookie: `${COOKIE}=${encodeURIComponent(cookie)}` })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, ...Array(19).fill(401)]);
    for (const lost of answers.filter((answer) => answer.status === 401)) expect(lost.body.error).toBe('REFRESH_TOKEN_INVALID');
  });
});
