import { generateKeyPairSync, KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { FIRST_ADMIN, firstAdminEnv } from '../factories/admin';
import { DEFAULT_PASSWORD, signUpBody } from '../factories/users';
import { decodePart, forgeToken, rs256 } from '../helpers/jwt-forge';
import { buildIfNeeded, ServerProcess, startServer } from '../helpers/server-process';
import { backend, freshMysqlDatabase, TEST_CAPTCHA } from '../helpers/test-app';

/**
 * Contract §14, rehearsed with real `node dist/main.js` processes: the rotation runbook of
 * docs/operations.md step by step (every step a rolling restart with new settings), and the emergency
 * sign-out across instances and restarts. On MariaDB + Redis two instances share the database and the
 * store, and every check runs on both — in the middle of each rolling restart too, when they disagree
 * about the keys. The embedded default has nothing two processes could share, so there one instance is
 * restarted at each step (which is what proves the revoke-all marker survives the in-process store).
 * A verifier caching the JWKS (jose's createRemoteJWKSet, as an internal service would use it) checks
 * every token issued on the way and must never fail.
 */
jest.setTimeout(600_000);

const INSTANCES = backend.mysqlUrl && backend.redisUrl ? 2 : 1;

interface Key {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}
interface KeySettings {
  signing: Key[];
  next?: Key;
}
interface Issued {
  accessToken: string;
  refreshToken: string;
}

const pem = (key: KeyObject) => key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }).toString();
const newKey = (kid: string): Key => ({ kid, ...generateKeyPairSync('rsa', { modulusLength: 2048 }) });
const keyEnv = ({ signing, next }: KeySettings): Record<string, string> => ({
  JWT_PRIVATE_KEYS: JSON.stringify(signing.map((key) => ({ kid: key.kid, privateKey: pem(key.privateKey) }))),
  ...(next ? { JWT_NEXT_PUBLIC_KEY: JSON.stringify({ kid: next.kid, publicKey: pem(next.publicKey) }) } : {}),
});
const kidOf = (token: string) => decodePart(token, 0).kid;

describe(`Signing keys rotate without downtime, and revoke-all signs everyone out (${INSTANCES} real instance(s))`, () => {
  const A = newKey('key-a');
  const B = newKey('key-b');
  let mysql: Awaited<ReturnType<typeof freshMysqlDatabase>> | null = null;
  const dataDirs: string[] = [];
  let baseEnv: Record<string, string>;
  const servers: ServerProcess[] = [];
  let front: Server;
  let frontUrl: URL;
  let turn = 0;

  beforeAll(() => buildIfNeeded(), 180_000);
  beforeAll(async () => {
    mysql = backend.mysqlUrl ? await freshMysqlDatabase(backend.mysqlUrl) : null;
    const sharedDataDir = mkdtempSync(join(tmpdir(), 'uc-rotation-'));
    dataDirs.push(sharedDataDir);
    // Two instances keep their own DATA_DIR; one instance restarted keeps its SQLite file across restarts.
    for (let i = 1; i < INSTANCES; i++) dataDirs.push(mkdtempSync(join(tmpdir(), 'uc-rotation-')));
    baseEnv = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      CAPTCHA_FIXED_TEXT: TEST_CAPTCHA,
      JWKS_MAX_AGE_SECONDS: '120',
      RATE_LIMIT_PER_MINUTE: '100000',
      LOGIN_PER_IP_PER_MINUTE: '100000',
      REGISTRATION_PER_IP_PER_HOUR: '100000',
      RETENTION_INTERVAL_MINUTES: '0',
      ...firstAdminEnv(),
      ...(mysql ? { DATABASE_URL: mysql.url } : {}),
      ...(INSTANCES === 2 ? { REDIS_URL: backend.redisUrl!, REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:` } : {}),
    };
    // The load balancer in front: verifiers fetch the JWKS from one stable address, whichever instance answers.
    front = createServer((request, response) => {
      const target = servers[turn++ % servers.length];
      fetch(`http://127.0.0.1:${target.port}${request.url}`)
        .then(async (answer) => {
          response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json', 'cache-control': answer.headers.get('cache-control') ?? '' });
          response.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => response.writeHead(502).end());
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = new URL(`http://127.0.0.1:${(front.address() as AddressInfo).port}/.well-known/jwks.json`);
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await new Promise((resolve) => front?.close(resolve));
    await mysql?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  /** Restarts instance i with these keys (every step of the runbook is a restart with new settings). */
  async function restart(i: number, keys: KeySettings): Promise<void> {
    await servers[i]?.stop();
    servers[i] = await startServer({ ...baseEnv, ...keyEnv(keys), DATA_DIR: dataDirs[i] });
  }

  async function signInOn(server: ServerProcess, identifier: string, password = DEFAULT_PASSWORD): Promise<Issued> {
    const response = await server.http.post('/api/v1/auth/login').send({ identifier, password }).expect(200);
    return response.body.data as Issued;
  }

  async function meOn(server: ServerProcess, token: string): Promise<number> {
    return (await server.http.get('/api/v1/users/me').set('Authorization', `Bearer ${token}`)).status;
  }

  /** Every token, on every instance: the HTTP status of GET /users/me. */
  async function answers(tokens: string[]): Promise<number[]> {
    const statuses: number[] = [];
    for (const token of tokens) for (const server of servers) statuses.push(await meOn(server, token));
    return statuses;
  }

  it('refuses to start with a duplicate kid, a weak key or a next key equal to a signing key: one line naming the setting, no stack trace', async () => {
    const weak = { kid: 'weak', ...generateKeyPairSync('rsa', { modulusLength: 1024 }) };
    const refusals: [Record<string, string>, string][] = [
      [keyEnv({ signing: [A, { ...B, kid: 'key-a' }] }), 'Invalid configuration: JWT_PRIVATE_KEYS names kid "key-a" twice'],
      [keyEnv({ signing: [A, weak] }), 'Invalid configuration: JWT_PRIVATE_KEYS key "weak" must be an RSA key of at least 2048 bits (RS256)'],
      [keyEnv({ signing: [A], next: { ...A, kid: 'key-a2' } }), 'Invalid configuration: JWT_NEXT_PUBLIC_KEY is the key of signing key "key-a": the next key must be a new key'],
    ];
    for (const [env, line] of refusals) {
      const failure = await startServer({ ...baseEnv, ...env, DATA_DIR: dataDirs[0] }).then(
        async (server) => {
          await server.stop();
          return 'it started';
        },
        (error: Error) => error.message,
      );
      expect(failure.split('\n').slice(1).join('\n').trim()).toBe(line);
    }
  });

  it('rehearses the runbook: tokens under A work while B is published, then first, until A is dropped; a caching verifier never fails', async () => {
    const failures: string[] = [];
    const verified = new Set<string>();
    // The verifier refetches only when the rehearsal says one JWKS cache lifetime has passed (reload());
    // an unknown kid does not make it refetch, so a token signed with a key it was not given in advance fails.
    const verifier = createRemoteJWKSet(frontUrl, { cacheMaxAge: Infinity, cooldownDuration: 24 * 3600_000 });
    const stale = createRemoteJWKSet(frontUrl, { cacheMaxAge: Infinity, cooldownDuration: 24 * 3600_000 });
    const verify = async (tokens: string[]) => {
      for (const token of tokens) {
        await jwtVerify(token, verifier, { algorithms: ['RS256'], issuer: 'user-centre', audience: 'user-centre' }).then(
          () => verified.add(token),
          (error: Error) => failures.push(`${String(kidOf(token))}: ${error.message}`),
        );
      }
    };
    const inUse: string[] = [];
    const sessions: Issued[] = [];
    /** A sign-in on every instance; its tokens join the ones in use, and every token in use is checked everywhere. */
    const signInEverywhereAndCheck = async (expectedKids: string[]) => {
      const issued: Issued[] = [];
      for (const server of servers) issued.push(await signInOn(server, account.username));
      expect(issued.map((pair) => kidOf(pair.accessToken))).toEqual(expectedKids);
      sessions.push(...issued);
      inUse.push(...issued.map((pair) => pair.accessToken));
      expect(await answers(inUse)).toEqual(inUse.flatMap(() => servers.map(() => 200)));
      await verify(inUse);
    };

    // Step 0: A signs. The account is made once; the verifier and the stale one fetch the key set now.
    for (let i = 0; i < INSTANCES; i++) await restart(i, { signing: [A] });
    const jwks = await servers[0].http.get('/.well-known/jwks.json').expect(200);
    expect(jwks.headers['cache-control']).toBe('public, max-age=120');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual(['key-a']);
    const captchaId = randomUUID();
    await servers[0].http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    const account = signUpBody();
    await servers[0].http.post('/api/v1/users').send({ ...account, captchaId, captchaText: TEST_CAPTCHA }).expect(201);
    await signInEverywhereAndCheck(servers.map(() => 'key-a'));
    await jwtVerify(inUse[0], stale, { algorithms: ['RS256'] });

    // Step 1: publish B (JWT_NEXT_PUBLIC_KEY), one instance at a time; A still signs everywhere.
    for (let i = 0; i < INSTANCES; i++) {
      await restart(i, { signing: [A], next: B });
      await signInEverywhereAndCheck(servers.map(() => 'key-a'));
    }
    expect((await servers[0].http.get('/.well-known/jwks.json').expect(200)).body.keys.map((key: { kid: string }) => key.kid)).toEqual(['key-a', 'key-b']);
    // Step 2: wait one JWKS cache lifetime — the verifier's cache expires and it fetches the key set again.
    await verifier.reload();

    // Step 3: B first, A still verifying. Mid-roll, an instance still on step 1 accepts what the restarted one signs.
    for (let i = 0; i < INSTANCES; i++) {
      await restart(i, { signing: [B, A] });
      await signInEverywhereAndCheck(servers.map((_, j) => (j <= i ? 'key-b' : 'key-a')));
    }
    const signedWithB = inUse.find((token) => kidOf(token) === 'key-b')!;
    // The control: a verifier that skipped the wait fails on B's tokens (so the wait above is what carried the verifier).
    await expect(jwtVerify(signedWithB, stale, { algorithms: ['RS256'] })).rejects.toThrow();
    // Never a fallback: B's signature under A's kid, or under a kid nobody has, is refused on every instance.
    const claims = decodePart(signedWithB, 1);
    const header = decodePart(signedWithB, 0);
    for (const kid of ['key-a', 'key-c']) {
      const forged = forgeToken({ ...header, kid }, claims, rs256(B.privateKey));
      expect(await answers([forged])).toEqual(servers.map(() => 401));
    }

    // Step 4: wait one access-token lifetime. Clients refresh (refresh tokens are not signed), so no A token is in use any more.
    const retired = inUse.filter((token) => kidOf(token) === 'key-a');
    inUse.length = 0;
    for (const [n, session] of sessions.entries()) {
      const refreshed = await servers[n % servers.length].http.post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }).expect(200);
      expect(kidOf(refreshed.body.data.accessToken)).toBe('key-b');
      Object.assign(session, refreshed.body.data);
      inUse.push(refreshed.body.data.accessToken);
    }

    // Step 5: drop A, one instance at a time. Every session survives the whole rotation.
    for (let i = 0; i < INSTANCES; i++) {
      await restart(i, { signing: [B] });
      await signInEverywhereAndCheck(servers.map(() => 'key-b'));
    }
    expect((await servers[0].http.get('/.well-known/jwks.json').expect(200)).body.keys.map((key: { kid: string }) => key.kid)).toEqual(['key-b']);
    // A token signed with the dropped key is refused everywhere, though it has not expired.
    expect(retired.length).toBeGreaterThan(0);
    expect(await answers(retired)).toEqual(retired.flatMap(() => servers.map(() => 401)));

    expect(failures).toEqual([]);
    expect(verified.size).toBeGreaterThan(4 * INSTANCES);
  });

  it('revoke-all on one instance: every access and refresh token of a session started before it fails on every instance at the next request, later sessions work, and a restart forgets nothing', async () => {
    const keys = { signing: [B] };
    if (servers.length < INSTANCES) for (let i = 0; i < INSTANCES; i++) await restart(i, keys);
    const captchaId = randomUUID();
    await servers[0].http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    const account = signUpBody();
    await servers[0].http.post('/api/v1/users').send({ ...account, captchaId, captchaText: TEST_CAPTCHA }).expect(201);
    const before = servers.map((server) => server); // a session started on each instance
    const old = await Promise.all(before.map((server) => signInOn(server, account.username)));
    const admin = await signInOn(servers[0], FIRST_ADMIN.username, FIRST_ADMIN.password);
    expect(await answers([...old, admin].map((pair) => pair.accessToken))).toEqual([...old, admin].flatMap(() => servers.map(() => 200)));

    const revoked = await servers[servers.length - 1].http.post('/api/v1/admin/sessions/revoke-all').set('Authorization', `Bearer ${admin.accessToken}`).send({}).expect(200);
    expect(Date.parse(revoked.body.data.before)).toBeGreaterThan(0);

    // The very next request, on every instance: access tokens, and refresh tokens (each tried on another instance).
    expect(await answers([...old, admin].map((pair) => pair.accessToken))).toEqual([...old, admin].flatMap(() => servers.map(() => 401)));
    for (const [n, pair] of [...old, admin].entries()) {
      const refreshed = await servers[(n + 1) % servers.length].http.post('/api/v1/auth/refresh').send({ refreshToken: pair.refreshToken });
      expect([refreshed.status, refreshed.body.error]).toEqual([401, 'REFRESH_TOKEN_INVALID']);
    }
    const fresh = await signInOn(servers[servers.length - 1], account.username);
    expect(await answers([fresh.accessToken])).toEqual(servers.map(() => 200));

    // Every instance restarted (the embedded one with an empty in-process store): still refused, still working.
    for (let i = 0; i < INSTANCES; i++) await restart(i, keys);
    expect(await answers([...old, admin].map((pair) => pair.accessToken))).toEqual([...old, admin].flatMap(() => servers.map(() => 401)));
    expect((await servers[0].http.post('/api/v1/auth/refresh').send({ refreshToken: old[0].refreshToken })).status).toBe(401);
    expect(await answers([fresh.accessToken])).toEqual(servers.map(() => 200));
    const refreshedFresh = await servers[0].http.post('/api/v1/auth/refresh').send({ refreshToken: fresh.refreshToken }).expect(200);
    expect(await answers([refreshedFresh.body.data.accessToken])).toEqual(servers.map(() => 200));
  });
});
