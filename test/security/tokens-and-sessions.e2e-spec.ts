import { createPublicKey, randomUUID } from 'node:crypto';
import { adminUpdate, firstAdminEnv, signedInAdmin } from '../factories/admin';
import { outboxEvents } from '../factories/events';
import { lastCode, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { idCardNumber } from '../factories/id-cards';
import { bearer, LIVE, meStatus, refresh, REVOKED, sessionAnswers, signInFrom, TokenPair } from '../factories/sessions';
import { signedInUser, signIn, signUp, verifyEmail } from '../factories/users';
import { attackerKeyPair, decodePart, forgeToken, hs256, rs256, serverPrivateKey } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

const NEW_PASSWORD = 'amber meadow 77';

/** SECURITY.md, "Tokens and sessions": each requirement proven over HTTP against the real app. */
describe('SECURITY: Tokens and sessions', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signedInAdmin>>;
  beforeAll(async () => {
    t = await createTestApp(firstAdminEnv());
    admin = await signedInAdmin(t);
  });
  afterAll(() => t.close());

  describe('Algorithm pinned; alg none, RS/HS confusion, embedded jwk/jku/x5u and tampered payloads → 401; exp required', () => {
    let user: Awaited<ReturnType<typeof signedInUser>>;
    let claims: Record<string, unknown>;
    let header: Record<string, unknown>;
    beforeAll(async () => {
      user = await signedInUser(t);
      claims = decodePart(user.accessToken, 1);
      header = decodePart(user.accessToken, 0);
    });
    const expect401 = async (token: string) => {
      const response = await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('UNAUTHENTICATED');
    };
    const ours = (payload: Record<string, unknown>) => forgeToken(header, payload, rs256(serverPrivateKey(t.dataDir)));

    it.each(['none', 'None', 'NONE'])('alg %s, in any spelling', (alg) => expect401(forgeToken({ alg, typ: 'JWT' }, claims, () => '')));
    it('HS256 signed with the public key (RS/HS confusion)', async () => {
      const jwks = await t.http.get('/.well-known/jwks.json');
      const pem = createPublicKey({ key: jwks.body.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      await expect401(forgeToken({ alg: 'HS256', typ: 'JWT', kid: header.kid }, claims, hs256(pem)));
    });
    it('an embedded jwk header with the attacker key', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, jwk: attacker.publicKey.export({ format: 'jwk' }) }, { ...claims, role: 'admin' }, rs256(attacker.privateKey)));
    });
    it('a jku header pointing elsewhere', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, jku: 'http://127.0.0.1:9/jwks.json' }, claims, rs256(attacker.privateKey)));
    });
    it('an x5u header pointing elsewhere, or an embedded x5c chain', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, x5u: 'http://127.0.0.1:9/attacker.pem' }, claims, rs256(attacker.privateKey)));
      const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      await expect401(forgeToken({ ...header, x5c: [der] }, claims, rs256(attacker.privateKey)));
    });
    it('a kid naming a key we do not have', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, kid: 'attacker-key' }, claims, rs256(attacker.privateKey)));
    });
    it('a kid naming a key we do not have, even when signed with our own key (never a fallback to another key)', async () => {
      await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${ours(claims)}`).expect(200); // the forge itself is sound
      await expect401(forgeToken({ ...header, kid: 'attacker-key' }, claims, rs256(serverPrivateKey(t.dataDir))));
      await expect401(forgeToken({ ...header, kid: `${String(header.kid)} ` }, claims, rs256(serverPrivateKey(t.dataDir))));
    });
    it('no kid at all, even when signed with our own key', async () => {
      const { kid: _kid, ...noKid } = header;
      await expect401(forgeToken(noKid, claims, rs256(serverPrivateKey(t.dataDir))));
      await expect401(forgeToken({ ...noKid, kid: null }, claims, rs256(serverPrivateKey(t.dataDir))));
    });
    it('a tampered payload', () => {
      const [h, , s] = user.accessToken.split('.');
      return expect401(`${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`);
    });
    it('no exp claim, even when signed with our key', () => {
      const { exp: _exp, ...noExp } = claims;
      return expect401(ours(noExp));
    });
    it('an exp that is not a number, even when signed with our key', () => expect401(ours({ ...claims, exp: String(claims.exp) })));
    it('an expired token', () => expect401(ours({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })));
    it('a wrong audience or issuer', async () => {
      await expect401(ours({ ...claims, aud: 'other' }));
      await expect401(ours({ ...claims, iss: 'other' }));
    });
    it('while a correctly signed control token passes', async () => {
      await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${ours(claims)}`).expect(200);
    });
  });

  describe('Access 15 min; no tokens in URLs', () => {
    it('Access tokens live 15 minutes: accepted until they expire, refused after', async () => {
      const user = await signedInUser(t);
      const claims = decodePart(user.accessToken, 1) as { iat: number; exp: number };
      expect(claims.exp - claims.iat).toBe(15 * 60);
      // Signature checks read the wall clock (the app's fake clock follows it), so that is the clock moved here.
      const now = jest.spyOn(Date, 'now');
      try {
        now.mockReturnValue((claims.exp - 5) * 1000);
        expect(await meStatus(t, user)).toBe(200);
        now.mockReturnValue((claims.exp + 1) * 1000);
        expect(await meStatus(t, user)).toBe(401);
      } finally {
        now.mockRestore();
      }
    });

    it('No tokens in URLs: an access token, API key or refresh token in the query string is not accepted', async () => {
      const user = await signedInUser(t);
      for (const name of ['access_token', 'token', 'accessToken']) {
        expect([name, (await t.http.get(`/api/v1/users/me?${name}=${user.accessToken}`)).status]).toEqual([name, 401]);
      }
      const { apiKey } = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data;
      for (const name of ['api_key', 'apiKey', 'x-api-key']) {
        expect([name, (await t.http.get(`/api/v1/users/me?${name}=${apiKey}`)).status]).toEqual([name, 401]);
      }
      expect((await t.http.post(`/api/v1/auth/refresh?refreshToken=${user.refreshToken}`).send({}).expect(400)).body.error).toBe('VALIDATION_FAILED');
      await refresh(t, user.refreshToken).expect(200); // the one in the URL was not even spent
    });

    it('No tokens in URLs: the API document takes every credential in a header, none in a query string or path', async () => {
      const doc = (await t.http.get('/docs-json').expect(200)).body as {
        components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string }> };
        paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
      };
      // A cookie is a header too: the refresh-token cookie of REFRESH_TOKEN_COOKIE (HttpOnly, never in a URL).
      for (const scheme of Object.values(doc.components.securitySchemes)) expect(scheme.type === 'http' ? scheme.scheme : scheme.in).toMatch(/^(bearer|header|cookie)$/);
      // The one exception is OAuth's own: a provider returns its authorization code in the callback's query
      // (RFC 6749 §4.1.2). It is not our credential, single-use, and worthless without our PKCE verifier and client secret.
      const oauthCallback = '/api/v1/auth/oauth/{provider}/callback';
      const urlParameters = Object.entries(doc.paths).flatMap(([path, operations]) =>
        Object.values(operations).flatMap((op) => (op.parameters ?? []).filter((p) => (p.in === 'query' || p.in === 'path') && !(path === oauthCallback && p.name === 'code'))),
      );
      expect(urlParameters.length).toBeGreaterThan(3);
      expect(urlParameters.map((p) => p.name).filter((name) => /token|key|secret|password|code/i.test(name))).toEqual([]);
    });
  });

  describe('Logout, password change/reset, disabling and deletion revoke at once (by session id / jti, not by token bytes)', () => {
    type Account = Awaited<ReturnType<typeof signUp>>;
    const revocations: [string, (account: Account, acting: TokenPair) => Promise<unknown>, { acting: typeof LIVE; other: typeof LIVE }][] = [
      ['logout', (_account, acting) => t.http.delete('/api/v1/auth/session').set(bearer(acting)).expect(200), { acting: REVOKED, other: LIVE }],
      [
        'a password change',
        (account, acting) => t.http.put('/api/v1/users/me/password').set(bearer(acting)).send({ oldPassword: account.password, newPassword: NEW_PASSWORD }).expect(200),
        { acting: LIVE, other: REVOKED },
      ],
      [
        'a password reset',
        async (account) => {
          await requestEmailCode(t, account.email, 'reset_password');
          const code = lastCode(t, account.email, 'reset_password');
          await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code, newPassword: NEW_PASSWORD }).expect(200);
        },
        { acting: REVOKED, other: REVOKED },
      ],
      ['disabling by an admin', (account) => adminUpdate(t, admin.auth, account.user.id, { status: 'disabled' }).expect(200), { acting: REVOKED, other: REVOKED }],
      ['deletion', (account, acting) => t.http.delete('/api/v1/users/me').set(bearer(acting)).send({ password: account.password }).expect(200), { acting: REVOKED, other: REVOKED }],
    ];

    it.each(revocations)('%s revokes at once: the next request fails, and so do the refresh token and any other token of that session', async (_name, act, expected) => {
      const account = await signUp(t);
      const acting = await signInFrom(t, account.username, 'Acting');
      const other = await signInFrom(t, account.username, 'Other');
      // Both tokens are verified (and remembered) first: revocation must beat the verified-token cache.
      for (const pair of [acting, other]) expect(await meStatus(t, pair)).toBe(200);
      await act(account, acting);
      expect({ acting: await sessionAnswers(t, acting), other: await sessionAnswers(t, other) }).toEqual(expected);
      // The revocation lasts as long as the access token could: one second before its exp it still holds.
      const secondsLeft = Number(decodePart(acting.accessToken, 1).exp) - t.clock.now() / 1000;
      await t.passTime(Math.floor((secondsLeft - 1) * 1000));
      const accessOnly = ({ access, sameSession }: { access: number; sameSession: number }) => ({ access, sameSession });
      expect({ acting: accessOnly(await sessionAnswers(t, acting, { refresh: false })), other: accessOnly(await sessionAnswers(t, other, { refresh: false })) }).toEqual({
        acting: accessOnly(expected.acting),
        other: accessOnly(expected.other),
      });
    });

    it('checks revocation without a database query on the hot path', async () => {
      const user = await signedInUser(t);
      await t.http.get('/api/v1/users/me').set(user.auth).expect(200); // warms the cached view
      const runner = t.db.createQueryRunner();
      const query = jest.spyOn(Object.getPrototypeOf(runner), 'query');
      try {
        await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
        expect(query).not.toHaveBeenCalled();
        await t.http.delete('/api/v1/auth/session').set(user.auth).expect(200);
        query.mockClear();
        await t.http.get('/api/v1/users/me').set(user.auth).expect(401);
        expect(query).not.toHaveBeenCalled();
      } finally {
        query.mockRestore();
        await runner.release();
      }
    });
  });

  describe('Refresh tokens rotate; re-use revokes the family', () => {
    it('rotates: a new pair for the same session, and the old refresh token is spent', async () => {
      const first = await signedInUser(t);
      const response = await refresh(t, first.refreshToken).expect(200);
      expect(response.body).toMatchObject({ code: 200, msg: 'Token refreshed' });
      const second = response.body.data;
      expect(second).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshToken: expect.stringMatching(/^rt_/), user: { id: first.user.id } });
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(decodePart(second.accessToken, 1).sid).toBe(decodePart(first.accessToken, 1).sid);
      expect(await meStatus(t, second)).toBe(200);

      const replay = await refresh(t, first.refreshToken).expect(401);
      expect(replay.body.error).toBe('REFRESH_TOKEN_INVALID');
    });

    it('treats re-use of a spent token as theft: the whole session is revoked', async () => {
      const first = await signedInUser(t);
      const second = (await refresh(t, first.refreshToken).expect(200)).body.data;
      const third = (await refresh(t, second.refreshToken).expect(200)).body.data;
      expect(await meStatus(t, third)).toBe(200);

      // An attacker replays the first (spent) token.
      expect((await refresh(t, first.refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');

      // Every token of that session is dead, at once: the newest refresh token and every access token.
      expect((await refresh(t, third.refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
      expect(await meStatus(t, third)).toBe(401);
      expect(await meStatus(t, second)).toBe(401);
      expect(await meStatus(t, first)).toBe(401);
    });

    it('lets exactly one of several concurrent refreshes with the same token win', async () => {
      const user = await signedInUser(t);
      const responses = await Promise.all(Array.from({ length: 5 }, () => refresh(t, user.refreshToken)));
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 401, 401, 401, 401]);
      for (const response of responses.filter((r) => r.status === 401)) expect(response.body.error).toBe('REFRESH_TOKEN_INVALID');
      const rows = await t.db.query(`SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ?`, [decodePart(user.accessToken, 1).sid]);
      // The spent token plus exactly one successor: the losers minted nothing.
      expect(Number(rows[0].n)).toBe(2);
    });
  });

  describe('Sensitive actions (password, email, phone, deletion, real-name read) need a sign-in from the last hour or the current password', () => {
    /** PUT /users/me/email or /phone with a code sent to a fresh address, and the password when given. */
    async function changeContact(field: 'email' | 'phone', auth: Record<string, string>, password?: string) {
      const to = field === 'email' ? `moved_${randomUUID()}@example.com` : uniquePhone();
      await (field === 'email' ? requestEmailCode(t, to, 'change_email') : requestSmsCode(t, to, 'change_phone'));
      const code = lastCode(t, to, `change_${field}`);
      return t.http.put(`/api/v1/users/me/${field}`).set(auth).send({ [field]: to, code, ...(password === undefined ? {} : { password }) });
    }

    it.each(['email', 'phone'] as const)('a change of %s needs a sign-in from the last hour (a refresh does not renew it), or the current password', async (field) => {
      const account = await signUp(t);
      const session = await signIn(t, account.username, account.password);
      await verifyEmail(t, bearer(session), account.email);
      await t.passTime(59 * 60_000);
      expect((await changeContact(field, bearer(session))).status).toBe(200);
      await t.passTime(2 * 60_000);
      const refreshed = (await refresh(t, session.refreshToken).expect(200)).body.data;
      const stale = await changeContact(field, bearer(refreshed));
      expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const wrong = await changeContact(field, bearer(refreshed), 'not my password');
      expect([wrong.status, wrong.body.error]).toEqual([400, 'PASSWORD_INCORRECT']);
      expect((await changeContact(field, bearer(refreshed), account.password)).status).toBe(200);
      // A personal API key never reaches a contact change (contract §13), not even with the password.
      const fresh = await signIn(t, account.username, account.password);
      const { apiKey } = (await t.http.post('/api/v1/users/me/api-key').set(bearer(fresh)).expect(201)).body.data;
      expect((await changeContact(field, { 'X-API-Key': apiKey })).body.error).toBe('API_KEY_SCOPE');
      expect((await changeContact(field, { 'X-API-Key': apiKey }, account.password)).body.error).toBe('API_KEY_SCOPE');
    });

    const needPassword: [string, (auth: Record<string, string>, password?: string) => Promise<{ status: number; body: { error?: string } }>][] = [
      ['a password change', (auth, password) => t.http.put('/api/v1/users/me/password').set(auth).send({ ...(password === undefined ? {} : { oldPassword: password }), newPassword: NEW_PASSWORD })],
      ['deletion', (auth, password) => t.http.delete('/api/v1/users/me').set(auth).send(password === undefined ? {} : { password })],
    ];
    it.each(needPassword)('%s needs the current password, even right after sign-in', async (_name, act) => {
      const user = await signedInUser(t);
      expect((await act(user.auth)).status).toBe(400);
      expect((await act(user.auth, 'not my password')).body.error).toBe('PASSWORD_INCORRECT');
      expect(await meStatus(t, user)).toBe(200); // nothing happened
      expect((await act(user.auth, user.password)).status).toBe(200);
    });

    it('a real-name read needs a sign-in from the last hour (403 RECENT_AUTH_REQUIRED, audited as denied)', async () => {
      const user = await signedInUser(t);
      const route = '/api/v1/users/me/real-name';
      await t.http.post(route).set(user.auth).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(201);
      await t.passTime(59 * 60_000);
      await t.http.get(route).set(user.auth).expect(200);
      await t.passTime(2 * 60_000);
      const response = await t.http.get(route).set(user.auth).expect(403);
      expect(response.body.error).toBe('RECENT_AUTH_REQUIRED');
      const denied = await t.db.query(`SELECT outcome FROM audit_events WHERE user_id = ? AND type = 'real_name_read' AND outcome = 'denied'`, [user.user.id]);
      expect(denied).toHaveLength(1);
      // A personal API key never reaches the real-name record (contract §13); signing in again (with the password) opens it again.
      const fresh = await signIn(t, user.username, user.password);
      const { apiKey } = (await t.http.post('/api/v1/users/me/api-key').set(bearer(fresh)).expect(201)).body.data;
      expect((await t.http.get(route).set('X-API-Key', apiKey).expect(403)).body.error).toBe('API_KEY_SCOPE');
      await t.http.get(route).set(bearer(fresh)).expect(200);
    });
  });
});

describe('SECURITY: at most SESSIONS_PER_USER live sessions per account (oldest idle signed out)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Parallel right passwords are still counted before they are compared: lift the captcha and lock so only the session cap speaks.
    t = await createTestApp({ SESSIONS_PER_USER: '3', LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000' });
  });
  afterAll(() => t.close());

  const sid = (pair: { accessToken: string }) => String(decodePart(pair.accessToken, 1).sid);
  const liveSessionIds = async (userId: string) =>
    ((await t.db.query('SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL', [userId])) as { id: string }[]).map(({ id }) => id).sort();
  const limitRevocations = async (userId: string) => ({
    audited: ((await t.db.query("SELECT detail FROM audit_events WHERE user_id = ? AND type = 'session_revoked'", [userId])) as { detail: string }[]).map((row) => JSON.parse(row.detail) as { sessionId: string; reason: string }),
    announced: (await outboxEvents(t, userId)).filter((event) => event.type === 'session.revoked').map((event) => event.data as { sessionId: string; reason: string }),
  });

  it('a fourth sign-in signs out the session idle the longest: its tokens stop at once, audited and announced as session.revoked (session_limit)', async () => {
    const account = await signUp(t);
    const first = await signInFrom(t, account.username, 'First');
    await t.passTime(1000);
    const second = await signInFrom(t, account.username, 'Second');
    await t.passTime(1000);
    const third = await signInFrom(t, account.username, 'Third');
    await t.passTime(1000);
    // The first session is the oldest but in use (refreshed just now): the second is the one idle the longest.
    const firstNow = (await t.http.post('/api/v1/auth/refresh').set('User-Agent', 'First').send({ refreshToken: first.refreshToken }).expect(200)).body.data as TokenPair;
    await t.passTime(1000);
    const fourth = await signInFrom(t, account.username, 'Fourth');
    expect(await sessionAnswers(t, second)).toEqual(REVOKED);
    for (const pair of [firstNow, third, fourth]) expect(await meStatus(t, pair)).toBe(200);
    expect((await t.http.get('/api/v1/auth/sessions').set(bearer(fourth)).expect(200)).body.data.items.map((item: { userAgent: string }) => item.userAgent).sort()).toEqual(['First', 'Fourth', 'Third']);
    expect(await limitRevocations(account.user.id)).toEqual({
      audited: [{ sessionId: sid(second), reason: 'session_limit' }],
      announced: [{ userId: account.user.id, sessionId: sid(second), reason: 'session_limit' }],
    });
    const [row] = await t.db.query('SELECT revoked_reason FROM sessions WHERE id = ?', [sid(second)]);
    expect(row.revoked_reason).toBe('session_limit');
  });

  it('12 parallel sign-ins at the cap leave exactly 3 live sessions, all from the burst; each of the 12 signed out one session, audited and announced once', async () => {
    const account = await signUp(t);
    const before = [await signIn(t, account.username, account.password), await signIn(t, account.username, account.password), await signIn(t, account.username, account.password)];
    await t.passTime(1000);
    const answers = await Promise.all(Array.from({ length: 12 }, () => t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const burst = answers.map((answer) => answer.body.data as TokenPair);
    const live = await liveSessionIds(account.user.id);
    expect(live).toHaveLength(3);
    expect(burst.map(sid)).toEqual(expect.arrayContaining(live));
    for (const pair of before) expect(await meStatus(t, pair)).toBe(401);
    for (const pair of burst) expect(await meStatus(t, pair)).toBe(live.includes(sid(pair)) ? 200 : 401);
    const { audited, announced } = await limitRevocations(account.user.id);
    const evicted = [...before, ...burst].map(sid).filter((id) => !live.includes(id)).sort();
    expect(evicted).toHaveLength(12);
    expect(audited.map((detail) => detail.sessionId).sort()).toEqual(evicted);
    expect(announced.map((data) => data.sessionId).sort()).toEqual(evicted);
    expect(new Set([...audited, ...announced].map((entry) => entry.reason))).toEqual(new Set(['session_limit']));
  });
});

describe('SECURITY: a session keeps its newest SPENT_REFRESH_TOKENS_KEPT spent refresh tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ SPENT_REFRESH_TOKENS_KEPT: '5' });
  });
  afterAll(() => t.close());

  const tokenRows = async (pair: { accessToken: string }) => Number((await t.db.query('SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ?', [decodePart(pair.accessToken, 1).sid]))[0].n);

  /** Signs in and refreshes `count` times, a second apart: every pair of the chain, oldest first. */
  async function refreshedChain(count: number): Promise<{ accessToken: string; refreshToken: string }[]> {
    const account = await signUp(t);
    const chain = [await signIn(t, account.username, account.password)];
    for (let i = 0; i < count; i++) {
      await t.passTime(1000);
      chain.push((await refresh(t, chain[chain.length - 1].refreshToken).expect(200)).body.data as TokenPair);
    }
    return chain;
  }

  it('30 refreshes in a row leave 5 spent tokens and the live one, and a replay of the oldest kept one still revokes the session', async () => {
    const chain = await refreshedChain(30);
    expect(await tokenRows(chain[30])).toBe(6);
    // Kept: the 5 spent last (chain[25] to chain[29]); the oldest of them is still recognised as a replay.
    expect((await refresh(t, chain[25].refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
    expect(await meStatus(t, chain[30])).toBe(401);
    expect((await refresh(t, chain[30].refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
  });

  it('10 parallel refreshes with the live token at the bound add no row past it: one wins, 5 spent tokens and the live one stay', async () => {
    const chain = await refreshedChain(10);
    expect(await tokenRows(chain[10])).toBe(6);
    const burst = await Promise.all(Array.from({ length: 10 }, () => refresh(t, chain[10].refreshToken)));
    expect(burst.map((answer) => answer.status).sort()).toEqual([200, ...Array(9).fill(401)]);
    expect(await tokenRows(chain[10])).toBe(6);
  });

  it('a replay of a token older than those is refused as unknown, and the session lives on', async () => {
    const chain = await refreshedChain(10);
    expect((await refresh(t, chain[0].refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
    expect(await meStatus(t, chain[10])).toBe(200);
    const next = (await refresh(t, chain[10].refreshToken).expect(200)).body.data as TokenPair;
    expect(await meStatus(t, next)).toBe(200);
  });
});
