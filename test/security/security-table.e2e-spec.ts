import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { references, notRun } = require('../../scripts/security-table') as {
  references(root: string): { file: string; name: string }[];
  notRun(refs: { file: string; name: string }[], report: { testResults: { name: string; assertionResults: { status: string; title: string; ancestorTitles: string[] }[] }[] }): { file: string; name: string }[];
};

/**
 * SECURITY.md maps every promise to the tests that prove it. This keeps the table honest: each
 * reference must name a test (or describe) title in that file — a title, not text in a comment or a
 * string elsewhere. `npm test` then checks from Jest's JSON report that each named test ran and
 * passed (scripts/security-table.js), so a renamed, deleted or skipped test fails the run.
 */
const root = join(__dirname, '..', '..');
const table = readFileSync(join(root, 'SECURITY.md'), 'utf8');
const rows = table.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| requirement') && !line.startsWith('|---'));
const TEST_FUNCTIONS = new Set(['it', 'test', 'describe']);

/** The first-argument titles of it/test/describe calls (and their .each forms) in a spec file. */
function testTitles(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const titles: string[] = [];
  const calleeName = (callee: ts.Expression): string | null => {
    if (ts.isIdentifier(callee)) return callee.text;
    if (ts.isPropertyAccessExpression(callee)) return calleeName(callee.expression); // it.concurrent, describe.each(...) heads
    if (ts.isCallExpression(callee)) return calleeName(callee.expression); // it.each(table)('title', …)
    return null;
  };
  const declarations = new Map<string, ts.Expression>();
  const collectDeclarations = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) declarations.set(node.name.text, node.initializer);
    ts.forEachChild(node, collectDeclarations);
  };
  collectDeclarations(source);
  // A table-driven title ('%s', '%s is refused') takes its text from the rows: their strings count as titles.
  const rowStrings = (table: ts.Node): string[] => {
    const node = ts.isIdentifier(table) ? declarations.get(table.text) : table;
    const strings: string[] = [];
    const walk = (child: ts.Node) => {
      if (ts.isStringLiteral(child) || ts.isNoSubstitutionTemplateLiteral(child)) strings.push(child.text);
      ts.forEachChild(child, walk);
    };
    if (node) walk(node);
    return strings;
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node) && TEST_FUNCTIONS.has(calleeName(node.expression) ?? '')) {
      const [first] = node.arguments;
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) {
        titles.push(first.text);
        const head = node.expression;
        if (first.text.startsWith('%') && ts.isCallExpression(head) && ts.isPropertyAccessExpression(head.expression) && head.expression.name.text === 'each') {
          titles.push(...head.arguments.flatMap(rowStrings));
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return titles;
}

describe('SECURITY.md requirement table', () => {
  it('has a row for every requirement, each proven by at least one test or marked open', () => {
    expect(rows.length).toBeGreaterThan(30);
    for (const row of rows) {
      const proven = /`(?:test|src)\/[^`]+` › "[^"]+"/.test(row);
      expect([row.slice(0, 80), proven || row.includes('**open**')]).toEqual([row.slice(0, 80), true]);
    }
  });

  it('finds titles in code, not in comments or other strings (the scan itself works)', () => {
    const titles = testTitles(__filename);
    expect(titles).toEqual(expect.arrayContaining(['SECURITY.md requirement table', 'finds titles in code, not in comments or other strings (the scan itself works)']));
    expect(titles).not.toContain('SECURITY.md maps every promise to the tests that prove it.');
    expect(titles).not.toContain('it');
  });

  it('counts a named test as proven only when a test of that title passed in that file (npm test reads Jest\'s JSON report)', () => {
    const ref = (name: string) => ({ file: 'test/security/x.e2e-spec.ts', name });
    const suite = (status: string, title: string, ancestorTitles: string[] = []) => ({ name: `${root}/test/security/x.e2e-spec.ts`, assertionResults: [{ status, title, ancestorTitles }] });
    const report = { testResults: [suite('passed', 'refuses "abc" with too short, and the error says why'), suite('pending', 'skipped one'), suite('failed', 'failing one'), suite('passed', 'inner', ['a describe'])] };
    expect(notRun([ref('refuses %j with %s, and the error says why'), ref('a describe'), ref('refuses "abc"')], report)).toEqual([]);
    expect(notRun([ref('skipped one'), ref('failing one'), ref('never written'), { file: 'test/security/y.e2e-spec.ts', name: 'inner' }], report)).toHaveLength(4);
  });

  it.each(references(root).map(({ file, name }) => [file, name]))('%s has a test titled "%s"', (file, name) => {
    const path = join(root, file);
    expect(existsSync(path)).toBe(true);
    expect([name, testTitles(path).some((title) => title.startsWith(name))]).toEqual([name, true]);
  });
});
