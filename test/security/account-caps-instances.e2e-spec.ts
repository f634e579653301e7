import { createConnection } from 'mysql2/promise';
import { DEFAULT_PASSWORD } from '../factories/users';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { SoftAuthenticator } from '../helpers/soft-authenticator';
import { backend } from '../helpers/test-app';
import { signUpOn, startTwoInstances, TwoInstances, verifyEmailOn } from '../helpers/two-instances';

jest.setTimeout(120_000);

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

const ORIGIN = 'https://app.example.test';
const RP_ID = 'app.example.test';

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}
const bearer = (pair: { accessToken: string }) => ({ Authorization: `Bearer ${pair.accessToken}` });
const sid = (pair: { accessToken: string }) => String(JSON.parse(Buffer.from(pair.accessToken.split('.')[1], 'base64url').toString('utf8')).sid);

/**
 * SECURITY.md › the per-account caps (SESSIONS_PER_USER, PASSKEYS_PER_USER), across instances: each is
 * counted with the account row locked in the transaction that adds the row, so a burst split over two
 * servers on one MariaDB still stops at the exact cap (the embedded and single-instance MariaDB runs of
 * tokens-and-sessions and passkeys prove the same within one process).
 */
describeOnBoth('Per-account caps hold across two instances sharing MariaDB and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({
      RATE_LIMIT_PER_MINUTE: '100000',
      LOGIN_PER_IP_PER_MINUTE: '100000',
      REGISTRATION_PER_IP_PER_HOUR: '100000',
      // Parallel right passwords are still counted before they are compared: lift the captcha and lock so only the session cap speaks.
      LOGIN_CAPTCHA_AFTER: '1000',
      LOGIN_LOCK_AFTER: '1000',
      SESSIONS_PER_USER: '3',
      PASSKEYS_PER_USER: '2',
      WEBAUTHN_RP_ID: RP_ID,
      WEBAUTHN_ORIGINS: ORIGIN,
    });
    ({ a, b } = instances);
  });
  afterAll(() => instances?.stop());

  const on = (i: number) => (i % 2 ? b : a);
  async function query<T>(sql: string, values: unknown[]): Promise<T[]> {
    const db = await createConnection(instances!.databaseUrl);
    try {
      return (await db.query(sql, values))[0] as T[];
    } finally {
      await db.end();
    }
  }
  const signInOn = async (server: ServerProcess, username: string) =>
    (await server.http.post('/api/v1/auth/login').send({ identifier: username, password: DEFAULT_PASSWORD }).expect(200)).body.data as TokenPair;

  it('SESSIONS_PER_USER=3: 12 parallel sign-ins at the cap spread over A and B leave exactly 3 live sessions, all from the burst; each of the 12 signed out one, audited and announced once', async () => {
    const account = await signUpOn(a);
    const [{ id: userId }] = await query<{ id: string }>('SELECT id FROM users WHERE username = ?', [account.username]);
    const before = [await signInOn(a, account.username), await signInOn(b, account.username), await signInOn(a, account.username)];
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => on(i).http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
    const burst = answers.map((answer) => answer.body.data as TokenPair);

    const live = (await query<{ id: string }>('SELECT id FROM sessions WHERE user_id = ? AND revoked_at IS NULL', [userId])).map(({ id }) => id).sort();
    expect(live).toHaveLength(3);
    expect(burst.map(sid)).toEqual(expect.arrayContaining(live));
    // Each instance answers for the other's sessions alike: the evicted ones stop on both.
    for (const [i, pair] of [...before, ...burst].entries()) expect((await on(i).http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(live.includes(sid(pair)) ? 200 : 401);
    const evicted = [...before, ...burst].map(sid).filter((id) => !live.includes(id)).sort();
    expect(evicted).toHaveLength(12);
    const audited = (await query<{ detail: string }>("SELECT detail FROM audit_events WHERE user_id = ? AND type = 'session_revoked'", [userId])).map((row) => JSON.parse(row.detail) as { sessionId: string; reason: string });
    const announced = (await query<{ data: string }>("SELECT data FROM events WHERE user_id = ? AND type = 'session.revoked'", [userId])).map((row) => JSON.parse(row.data) as { sessionId: string; reason: string });
    expect(audited.map((detail) => detail.sessionId).sort()).toEqual(evicted);
    expect(announced.map((data) => data.sessionId).sort()).toEqual(evicted);
    expect(new Set([...audited, ...announced].map((entry) => entry.reason))).toEqual(new Set(['session_limit']));
  });

  it('PASSKEYS_PER_USER=2: 8 registrations prepared on A and B and answered all at once, spread over both, store exactly 2, the rest 409 PASSKEY_LIMIT_REACHED; then no more options on either', async () => {
    const account = await signUpOn(b);
    const pair = await signInOn(b, account.username);
    await verifyEmailOn(b, instances!.outbox, bearer(pair), account.email);
    const [{ id: userId }] = await query<{ id: string }>('SELECT id FROM users WHERE username = ?', [account.username]);
    // Options fetched one by one while there is room (the challenges live in the shared store), alternately on A and B.
    const bodies = [];
    for (let i = 0; i < 8; i++) {
      const options = (await on(i).http.post('/api/v1/users/me/passkeys/options').set(bearer(pair)).expect(200)).body.data;
      bodies.push({ response: new SoftAuthenticator(ORIGIN, RP_ID).register(options).json, name: `burst ${i}` });
    }
    // Each answered on the instance that did not issue its challenge.
    const answers = await Promise.all(bodies.map((body, i) => on(i + 1).http.post('/api/v1/users/me/passkeys').set(bearer(pair)).send(body)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 409, 409, 409, 409, 409, 409]);
    for (const answer of answers.filter((answer) => answer.status === 409)) expect(answer.body.error).toBe('PASSKEY_LIMIT_REACHED');
    expect(answers.filter((answer) => answer.status === 201 && answer.body.data.recoveryCodes).length).toBe(1);
    expect(Number((await query<{ n: number | string }>('SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?', [userId]))[0].n)).toBe(2);
    // Refused registrations wrote nothing: two audit events, two user.mfa_changed.
    expect(Number((await query<{ n: number | string }>("SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'mfa_enabled'", [userId]))[0].n)).toBe(2);
    expect(Number((await query<{ n: number | string }>("SELECT COUNT(*) AS n FROM events WHERE user_id = ? AND type = 'user.mfa_changed'", [userId]))[0].n)).toBe(2);
    for (const server of [a, b]) {
      const options = await server.http.post('/api/v1/users/me/passkeys/options').set(bearer(pair));
      expect([options.status, options.body.error]).toEqual([409, 'PASSKEY_LIMIT_REACHED']);
    }
  });
});
