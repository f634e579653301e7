import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@/cli';
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
    [['purge'], 0, 'Purged 0 session(s), 0 refresh token(s) and '],
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

  it('runs as a process: one line on stdout and exit 0, or one line on stderr and exit 1', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['-r', 'ts-node/register', '-r', 'tsconfig-paths/register', 'src/cli.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const created = run(['create-admin', '--username', 'proc_admin', '--email', 'proc.admin@example.com', '--password', 'slate river 31']);
    expect([created.status, created.stderr]).toEqual([0, '']);
    expect(created.stdout).toMatch(/^Created admin "proc_admin" \(id [0-9a-f-]{36}\)\n$/);
    const refused = run(['create-admin', '--username', 'proc_admin2', '--email', 'proc2@example.com', '--password', 'password']);
    expect([refused.status, refused.stdout, refused.stderr]).toEqual([1, '', 'create-admin failed: --password: Password is one of the most commonly used passwords\n']);
  }, 120_000); // two cold starts of the TypeScript entry point on a shared machine
});
