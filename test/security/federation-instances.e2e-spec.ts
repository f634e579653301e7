import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callbackPath, federationEnv, idpClients, idpPerson, SPA_RETURN } from '../factories/federation';
import { OidcIdp } from '../helpers/oidc-idp';
import { buildIfNeeded, ServerProcess, startServer } from '../helpers/server-process';
import { backend, freshMysqlDatabase } from '../helpers/test-app';

const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

describeOnBoth('Federation across two instances sharing MariaDB and Redis: the callback may land on the other instance', () => {
  let idp: OidcIdp;
  let a: ServerProcess;
  let b: ServerProcess;
  let mysql: Awaited<ReturnType<typeof freshMysqlDatabase>>;
  const dataDirs: string[] = [];

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
    mysql = await freshMysqlDatabase(backend.mysqlUrl!);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const shared = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      DATABASE_URL: mysql.url,
      REDIS_URL: backend.redisUrl!,
      REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:`,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      REAL_NAME_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      REAL_NAME_INDEX_KEY: randomBytes(32).toString('hex'),
      CODE_HMAC_KEY: randomBytes(32).toString('hex'),
      ...federationEnv(idp, ['corp']),
    };
    const dataDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'uc-fed-'));
      dataDirs.push(dir);
      return dir;
    };
    a = await startServer({ ...shared, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'true' });
    b = await startServer({ ...shared, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'false' });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), idp?.stop()]);
    await mysql?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('URL made by A, callback on B, result exchanged on A: signed in; state and result single-use across both (parallel)', async () => {
    const person = await idpPerson(idp);
    const started = await a.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri: SPA_RETURN }).expect(200);
    const callback = await idp.signIn(started.body.data.url, person.id);
    const deliveries = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).http.get(callbackPath(callback))));
    const redirected = deliveries.filter((answer) => answer.status === 302);
    expect(redirected).toHaveLength(1);
    expect(deliveries.filter((answer) => answer.status === 400 && answer.body.error === 'OAUTH_STATE_INVALID')).toHaveLength(19);
    const result = new URL(redirected[0].headers.location).searchParams.get('result');
    const exchanges = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).http.post('/api/v1/auth/oauth/exchange').send({ result })));
    const signedIn = exchanges.filter((answer) => answer.status === 200);
    expect(signedIn).toHaveLength(1);
    const me = await b.http.get('/api/v1/users/me').set('Authorization', `Bearer ${signedIn[0].body.data.accessToken}`).expect(200);
    expect(me.body.data.email).toBe(person.claims.email);
  });

  it('a callback delivered only to B, for a URL made by A', async () => {
    const person = await idpPerson(idp);
    const started = await a.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri: SPA_RETURN }).expect(200);
    const callback = await idp.signIn(started.body.data.url, person.id);
    const answer = await b.http.get(callbackPath(callback)).expect(302);
    const result = new URL(answer.headers.location).searchParams.get('result');
    await a.http.post('/api/v1/auth/oauth/exchange').send({ result }).expect(200);
  });
});
