import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@/cli';
import { loadConfig } from '@/config/app-config';
import { SigningKeys } from '@/modules/auth/keys/signing-keys.service';
import { auditEvents } from '../factories/admin';
import { signIn } from '../factories/users';
import { backend, createTestApp, freshMysqlDatabase } from '../helpers/test-app';

const ROOT = join(__dirname, '..', '..');
const ADMIN = ['--username', 'cli_admin', '--email', 'cli.admin@example.com', '--password', 'slate river 31'];

/** `npm run cli` / `npm run migration:run`: the commands' logic in-process, and the entry point as a real process. */
describe('The command line (src/cli.ts)', () => {
  let dataDir: string;
  let mysql: Awaited<ReturnType<typeof freshMysqlDatabase>> | null;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'uc-cli-'));
    mysql = backend.mysqlUrl ? await freshMysqlDatabase(backend.mysqlUrl) : null;
    env = {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      BCRYPT_COST: '4',
      LOG_LEVEL: 'silent',
      ...(mysql ? { DATABASE_URL: mysql.url } : {}),
      ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl, REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:` } : {}),
    };
  });
  afterAll(async () => {
    await mysql?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrate applies the pending migrations once', async () => {
    expect(await runCli(['migrate'], env)).toEqual({ exitCode: 0, line: expect.stringMatching(/^Applied \d+ migration\(s\): InitialSchema/) });
    expect(await runCli(['migrate'], env)).toEqual({ exitCode: 0, line: 'The schema is up to date: no pending migrations' });
  });

  it('create-admin creates an admin who can sign in and administer, and says so in one line', async () => {
    const result = await runCli(['create-admin', ...ADMIN], env);
    expect(result).toEqual({ exitCode: 0, line: expect.stringMatching(/^Created admin "cli_admin" \(id [0-9a-f-]{36}\)$/) });

    const t = await createTestApp(env);
    try {
      const tokens = await signIn(t, 'cli_admin', 'slate river 31');
      const auth = { Authorization: `Bearer ${tokens.accessToken}` };
      expect((await t.http.get('/api/v1/users/me').set(auth).expect(200)).body.data).toMatchObject({ username: 'cli_admin', email: 'cli.admin@example.com', role: 'admin' });
      await t.http.get('/api/v1/admin/users').set(auth).expect(200);
      const [created] = await auditEvents(t, auth, { type: 'admin_created' });
      expect(created).toMatchObject({ userId: tokens.user.id, actorId: null, detail: { via: 'cli' } });
    } finally {
      await t.close();
    }
  });

  it.each([
    [['create-admin', ...ADMIN], 1, 'create-admin failed: --username: Username is already taken'],
    [['create-admin', '--username', 'cli_other', '--email', 'CLI.Admin@example.com', '--password', 'slate river 31'], 1, 'create-admin failed: --email: Email is already registered'],
    [['create-admin', '--username', 'cli_other', '--email', 'other@example.com', '--password', 'password'], 1, 'create-admin failed: --password: Password is one of the most commonly used passwords'],
    [['create-admin', '--username', 'cli_other', '--email', 'nope', '--password', 'slate river 31'], 1, 'create-admin failed: --email: email must be a valid address'],
    [['create-admin', '--username=no way', '--email=other@example.com', '--password=slate river 31'], 1, 'create-admin failed: --username: Username must be'],
    [['create-admin', '--username', 'cli_other', '--email', 'other@example.com'], 2, '--password is required.'],
    [['create-admin', '--username', 'cli_other', '--role', 'admin'], 2, 'Unknown argument "--role"'],
    [['create-admin', '--username'], 2, '--username needs a value.'],
    [['purge', '--all'], 2, 'Usage: cli migrate | cli create-admin'],
    [['purge'], 0, 'Purged 0 session(s), 0 refresh token(s), '],
    [['drop-database'], 2, 'Usage: cli migrate | cli create-admin'],
    [[], 2, 'Usage: cli migrate | cli create-admin'],
  ])('%j exits %i with one line: %s', async (argv, exitCode, line) => {
    const result = await runCli(argv, env);
    expect(result.exitCode).toBe(exitCode);
    expect(result.line.startsWith(line)).toBe(true);
    expect(result.line).not.toContain('\n');
  });

  it('names a bad setting in one line', async () => {
    expect(await runCli(['create-admin', ...ADMIN], { ...env, BCRYPT_COST: 'lots' })).toEqual({ exitCode: 1, line: 'Invalid configuration: BCRYPT_COST must be a whole number (got "lots")' });
    expect(await runCli(['migrate'], { ...env, ADMIN_USERNAME: 'only_this' })).toMatchObject({ exitCode: 1, line: expect.stringContaining('ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD must be set together') });
  });

  const run = (args: string[]) =>
    spawnSync(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('runs as a process: one line on stdout and exit 0, or one line on stderr and exit 1', () => {
    const created = run(['create-admin', '--username', 'proc_admin', '--email', 'proc.admin@example.com', '--password', 'slate river 31']);
    expect([created.status, created.stderr]).toEqual([0, '']);
    expect(created.stdout).toMatch(/^Created admin "proc_admin" \(id [0-9a-f-]{36}\)\n$/);
    const refused = run(['create-admin', '--username', 'proc_admin2', '--email', 'proc2@example.com', '--password', 'password']);
    expect([refused.status, refused.stdout, refused.stderr]).toEqual([1, '', 'create-admin failed: --password: Password is one of the most commonly used passwords\n']);
  }, 120_000); // two cold starts of the TypeScript entry point on a shared machine

  describe('generate-signing-key [--kid K]: a new private key (PEM) and its public JWK, ready for JWT_NEXT_PUBLIC_KEY and JWT_PRIVATE_KEYS', () => {
    /** The printed sections, by their "# ..." headings. */
    function sections(text: string): string[] {
      return text.split(/^# .*\n/m).slice(1).map((part) => part.trim());
    }

    it('prints a 2048-bit RSA key, its JWK and both setting entries, which the service accepts as they are', async () => {
      const result = await runCli(['generate-signing-key', '--kid', 'key-2026-12'], {});
      expect([result.exitCode, result.line]).toEqual([0, 'Generated RS256 signing key "key-2026-12" (2048 bits)']);
      const [pem, jwk, next, entry] = sections(result.text!);
      const privateKey = createPrivateKey(pem);
      expect([privateKey.asymmetricKeyType, privateKey.asymmetricKeyDetails?.modulusLength]).toEqual(['rsa', 2048]);
      const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
      expect(JSON.parse(jwk)).toEqual({ kty: 'RSA', n: publicJwk.n, e: publicJwk.e, kid: 'key-2026-12', alg: 'RS256', use: 'sig' });

      // Pasted into the settings, the service publishes exactly that JWK (and signs with the key once it is first).
      const nextOnly = new SigningKeys(loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, JWT_NEXT_PUBLIC_KEY: next }));
      expect(nextOnly.jwks.keys).toContainEqual(JSON.parse(jwk));
      expect(nextOnly.signing.kid).not.toBe('key-2026-12');
      const first = new SigningKeys(loadConfig({ NODE_ENV: 'test', JWT_PRIVATE_KEYS: `[${entry}]` }));
      expect(first.signing.kid).toBe('key-2026-12');
      expect(first.jwks.keys).toEqual([JSON.parse(jwk)]);
    });

    it('names the key by its RFC 7638 thumbprint without --kid, and every run makes a new key', async () => {
      const [one, two] = [await runCli(['generate-signing-key'], {}), await runCli(['generate-signing-key'], {})];
      const kid = /"([A-Za-z0-9_-]{43})"/.exec(one.line)?.[1];
      expect(kid).toBeDefined();
      const jwk = JSON.parse(sections(one.text!)[1]);
      expect(jwk.kid).toBe(kid);
      expect(new SigningKeys(loadConfig({ NODE_ENV: 'test', JWT_PRIVATE_KEY: sections(one.text!)[0] })).signing.kid).toBe(kid);
      expect(sections(two.text!)[0]).not.toBe(sections(one.text!)[0]);
    });

    it.each([
      [['generate-signing-key', '--kid', 'no spaces please'], '--kid must be 1-64 letters, digits, ".", "_" or "-"'],
      [['generate-signing-key', '--bits', '1024'], 'Unknown argument "--bits"'],
      [['generate-signing-key', '--kid'], '--kid needs a value.'],
    ])('%j is a usage error (exit 2): %s', async (argv, line) => {
      const result = await runCli(argv, {});
      expect(result.exitCode).toBe(2);
      expect(result.line.startsWith(line)).toBe(true);
      expect(result.text).toBeUndefined();
    });

    it('as a process: the line, then the key on stdout; nothing on stderr', () => {
      const generated = run(['generate-signing-key', '--kid', 'proc-key']);
      expect([generated.status, generated.stderr]).toEqual([0, '']);
      const [line, ...rest] = generated.stdout.split('\n');
      expect(line).toBe('Generated RS256 signing key "proc-key" (2048 bits)');
      const [pem, jwk] = sections(rest.join('\n'));
      expect(createPrivateKey(pem).asymmetricKeyType).toBe('rsa');
      expect(JSON.parse(jwk)).toMatchObject({ kid: 'proc-key', alg: 'RS256', use: 'sig' });
    }, 120_000);
  });
});
