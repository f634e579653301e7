import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIfNeeded, startServer } from '../helpers/server-process';

jest.setTimeout(120_000);

/**
 * Packages that only some configurations or rare routes need. Each is loaded where it is used
 * (see src/common/images/sharp.ts), so the embedded default never pays for them: its idle heap and
 * resident memory are what every installation starts from (docs/performance.md).
 */
const NOT_AT_START_UP = {
  ioredis: 'only REDIS_URL (redis-kv.store.ts)',
  mysql2: 'only a mysql:// DATABASE_URL (TypeORM loads the driver)',
  nodemailer: 'only MAIL_TRANSPORT=smtp (smtp.sender.ts)',
  qrcode: 'the first TOTP enrolment (mfa.service.ts)',
  pngjs: "qrcode's PNG renderer",
  otpauth: 'an account with TOTP (mfa/totp.ts)',
  '@simplewebauthn/server': 'the first passkey ceremony (mfa/webauthn/passkeys.service.ts)',
  'openid-client': 'a configured OIDC issuer (oidc.provider.ts)',
  oauth4webapi: "openid-client's",
  jose: "openid-client's",
  '@aws-sdk/client-s3': 'only AVATAR_STORAGE=s3 (avatar-storage.module.ts)',
  sharp: 'the first avatar or raster captcha (common/images/sharp.ts)',
};

/** The npm packages `node dist/main.js` has loaded once it is listening, read by a test-only preload at exit. */
async function packagesLoadedAtStartUp(env: Record<string, string>): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-footprint-'));
  const file = join(dataDir, 'loaded-packages.txt');
  const preload = join(__dirname, '..', 'helpers', 'loaded-packages.preload.js');
  const server = await startServer({ DATA_DIR: dataDir, ...env, NODE_OPTIONS: `--require ${preload}`, LOADED_PACKAGES_FILE: file });
  try {
    await server.http.get('/health/ready').expect(200);
    server.child.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('Start-up footprint', () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it('the embedded default loads no package that only another configuration or a rare route needs', async () => {
    const loaded = await packagesLoadedAtStartUp({ NODE_ENV: 'development', LOG_LEVEL: 'warn' });
    // The preload saw the application (so an empty list cannot pass by accident)…
    expect(loaded).toEqual(expect.arrayContaining(['@nestjs/core', 'fastify', 'typeorm', 'better-sqlite3']));
    // …and none of these.
    expect(loaded.filter((name) => name in NOT_AT_START_UP).map((name) => `${name}: ${NOT_AT_START_UP[name as keyof typeof NOT_AT_START_UP]}`)).toEqual([]);
  });
});
