import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * SECURITY.md maps every promise to the tests that prove it. This keeps the table honest: each
 * referenced spec must exist and contain the named test, so a renamed or deleted test fails here.
 */
const root = join(__dirname, '..', '..');
const table = readFileSync(join(root, 'SECURITY.md'), 'utf8');
const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| requirement') && !line.startsWith('|---'));
const reference = /`((?:test|src)\/[^`]+)` › "([^"]+)"/g;

describe('SECURITY.md requirement table', () => {
  it('has a row for every requirement, each proven by at least one test or marked open', () => {
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) {
      const proven = [...row.matchAll(reference)].length > 0;
      expect([row.slice(0, 80), proven || row.includes('**open**')]).toEqual([row.slice(0, 80), true]);
    }
  });

  it.each([...table.matchAll(reference)].map((match) => [match[1], match[2]]))('%s contains the test "%s"', (file, name) => {
    const path = join(root, file);
    expect(existsSync(path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toContain(name);
  });
});
