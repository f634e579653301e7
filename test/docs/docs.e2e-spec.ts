import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { buildIfNeeded, startServer } from '../helpers/server-process';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const SKIP = new Set(['node_modules', 'dist', 'data', '.git', 'test-artifacts', 'coverage']);

/** Every Markdown file of the repository (README, SECURITY.md, docs/, ...). */
function markdownFiles(dir = ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1])));
}

describe('Documentation links', () => {
  const files = markdownFiles();

  it('finds the documentation (the scan itself works)', () => {
    const names = files.map((file) => relative(ROOT, file));
    expect(names).toEqual(expect.arrayContaining(['README.md', 'SECURITY.md', 'docs/configuration.md', 'docs/api.md', 'docs/operations.md', 'docs/design.md', 'docs/performance.md', 'docs/development.md']));
  });

  it('every relative link points at a file inside the repository, and every #anchor at a heading', () => {
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto: a public address, not a repository path
        const [path, anchor] = target.split('#');
        const resolved = path ? resolve(dirname(file), path) : file;
        const where = `${relative(ROOT, file)} → ${target}`;
        if (relative(ROOT, resolved).startsWith('..')) broken.push(`${where} (outside the repository)`);
        else if (!existsSync(resolved)) broken.push(`${where} (missing)`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${where} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('no page, source or test refers to files outside the repository (the contract and security brief are not part of it)', () => {
    const sources = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (SKIP.has(name)) return [];
        return statSync(path).isDirectory() ? sources(path) : /\.(ts|js|md|json|yml|yaml)$|^Dockerfile$|^run$|^node24$/.test(name) && path !== __filename ? [path] : [];
      });
    const everything = [...files, ...['src', 'test', 'scripts', '.ci', 'deploy'].filter((dir) => existsSync(join(ROOT, dir))).flatMap((dir) => sources(join(ROOT, dir))), join(ROOT, 'Dockerfile')];
    expect(everything.length).toBeGreaterThan(100);
    const outside = everything.filter((file) => /\.\.\/shared\/|\bshared\/(contract|SECURITY|STYLE)/.test(readFileSync(file, 'utf8')));
    expect(outside.map((file) => relative(ROOT, file))).toEqual([]);
  });
});

describe('README › A first request', () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it('works as written: captcha, sign-up, sign-in and /users/me against a real server', async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## A first request'), readme.indexOf('\n## ', readme.indexOf('## A first request') + 1));
    const blocks = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1]);
    expect(blocks).toHaveLength(2);
    // The first block starts the server; we start the same server with the same setting.
    const fixed = /CAPTCHA_FIXED_TEXT=(\w+) npm start/.exec(blocks[0]);
    expect(fixed).not.toBeNull();
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-readme-'));
    const server = await startServer({ NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'warn', CAPTCHA_FIXED_TEXT: fixed![1] });
    try {
      const script = blocks[1].replaceAll('http://localhost:3000', `http://127.0.0.1:${server.port}`);
      expect(script).not.toBe(blocks[1]);
      const run = spawnSync('bash', ['-euo', 'pipefail', '-c', `${script}\necho; echo "token=\${TOKEN:0:10}"`], { cwd: dataDir, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const answers = run.stdout.split('\n').filter((line) => line.startsWith('{'));
      expect(answers).toHaveLength(2);
      const [signUp, me] = answers.map((line) => JSON.parse(line));
      expect(signUp).toMatchObject({ code: 201, data: { username: 'alice_01' } });
      expect(me).toMatchObject({ code: 200, data: { id: signUp.data.id, username: 'alice_01', email: 'alice@example.com' } });
      expect(run.stdout).toContain('token=eyJ');
      expect(readFileSync(join(dataDir, 'captcha.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
