import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signUpBody } from '../factories/users';
import { newestCodeIn } from './outbox-file';
import { ServerProcess, startServer } from './server-process';
import { backend, freshMysqlDatabase, TEST_CAPTCHA } from './test-app';

export interface TwoInstances {
  a: ServerProcess;
  b: ServerProcess;
  /** The log transport's file, shared by both (every SMS and mail, with its code, as JSON lines). */
  outbox: string;
  /** The shared database, for specs that check rows (e.g. which instance holds a claim). */
  databaseUrl: string;
  /** Both instances' key prefix in the shared Redis, for specs that read the shared state. */
  redisKeyPrefix: string;
  stop(): Promise<void>;
}

/**
 * Two real server processes sharing a fresh MariaDB database, one Redis key prefix and the same keys,
 * as a deployment runs them (A migrates, B does not); `env` adds or overrides settings for both,
 * `only` for one of them. Needs DATABASE_URL and REDIS_URL (the MariaDB + Redis pass) and a build (buildIfNeeded).
 */
export async function startTwoInstances(env: Record<string, string> = {}, only: { a?: Record<string, string>; b?: Record<string, string> } = {}): Promise<TwoInstances> {
  const mysql = await freshMysqlDatabase(backend.mysqlUrl!);
  const dataDirs: string[] = [];
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const outboxDir = mkdtempSync(join(tmpdir(), 'uc-multi-outbox-'));
  dataDirs.push(outboxDir);
  const shared = {
    OUTBOX_FILE: join(outboxDir, 'outbox.jsonl'),
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    BCRYPT_COST: '4',
    CAPTCHA_FIXED_TEXT: TEST_CAPTCHA,
    CAPTCHA_PER_IP: '1000',
    DATABASE_URL: mysql.url,
    REDIS_URL: backend.redisUrl!,
    REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:`,
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    REAL_NAME_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    REAL_NAME_INDEX_KEY: randomBytes(32).toString('hex'),
    CODE_HMAC_KEY: randomBytes(32).toString('hex'),
    ...env,
  };
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'uc-multi-'));
    dataDirs.push(dir);
    return dir;
  };
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await mysql.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    servers.push(await startServer({ ...shared, ...only.a, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'true' }));
    servers.push(await startServer({ ...shared, ...only.b, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'false' }));
  } catch (error) {
    await stop();
    throw error;
  }
  return { a: servers[0], b: servers[1], outbox: shared.OUTBOX_FILE, databaseUrl: mysql.url, redisKeyPrefix: shared.REDIS_KEY_PREFIX, stop };
}

/** Signs a new user up on one instance (captcha fetched there); answers what was sent. */
export async function signUpOn(server: ServerProcess) {
  const captchaId = randomUUID();
  await server.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
  const body = signUpBody();
  await server.http.post('/api/v1/users').send({ ...body, captchaId, captchaText: TEST_CAPTCHA }).expect(201);
  return body;
}

/** Proves a signed-in account's email on one instance (the code read from the shared outbox), as its owner would before adding a second factor. */
export async function verifyEmailOn(server: ServerProcess, outbox: string, auth: Record<string, string>, email: string): Promise<void> {
  await server.http.post('/api/v1/users/me/email/verification-code').set(auth).expect(202);
  const to = email.toLowerCase();
  let code: string | undefined;
  for (let waited = 0; !code && waited < 5000; waited += 20) {
    code = newestCodeIn(outbox, to, 'verify_email');
    if (!code) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await server.http.post('/api/v1/users/me/email/verification').set(auth).send({ code }).expect(200);
}
