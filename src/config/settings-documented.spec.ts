import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Every environment variable the server reads: the config loader's reads, and main.ts's pool size. */
function settingsRead(): string[] {
  const sources = [join(ROOT, 'src', 'config', 'app-config.ts'), join(ROOT, 'src', 'main.ts')].map((file) => readFileSync(file, 'utf8')).join('\n');
  const names = [...sources.matchAll(/read\.\w+\('([A-Z][A-Z0-9_]+)'|\benv\.([A-Z][A-Z0-9_]+)|process\.env\.([A-Z][A-Z0-9_]+)/g)].map((match) => match[1] ?? match[2] ?? match[3]);
  return [...new Set(names)].sort();
}

describe('docs/configuration.md › the settings table', () => {
  // Only the table's rows count: a name mentioned in the prose around it is not documented.
  const page = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const table = page
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split(' | ')[0])
    .join('\n');

  it('finds the settings the server reads (the scan itself works)', () => {
    expect(settingsRead()).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'HEAP_GROWING_PERCENT', 'UV_THREADPOOL_SIZE']));
    expect(settingsRead().length).toBeGreaterThan(90);
  });

  it('has the table (the page itself is read)', () => {
    expect(table).toContain('`DATABASE_URL`');
  });

  it('documents every one of them in the settings table', () => {
    const undocumented = settingsRead().filter((name) => !table.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });
});
