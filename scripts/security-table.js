// SECURITY.md names, for each promise, the tests that prove it: `path` › "title". This module reads
// those references and judges them against the test files and against a Jest JSON report, so that
// a reference holds only when a test of that title exists AND ran and passed.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const REFERENCE = /`((?:test|src)\/[^`]+)` › "([^"]+)"/g;

/** Every (file, title) pair that SECURITY.md names. */
function references(root) {
  const table = readFileSync(join(root, 'SECURITY.md'), 'utf8');
  return [...table.matchAll(REFERENCE)].map((match) => ({ file: match[1], name: match[2] }));
}

/**
 * Whether a test title (or describe title) is the named one. The table may stop a title at a natural
 * break, so a title that starts with the name counts; Jest's printf placeholders (%s, %j, …) in a
 * table-driven title stand for any text.
 */
function titleMatches(name, title) {
  const pattern = name
    .split(/%[sdifjoOp#%]/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*?');
  return new RegExp(`^${pattern}`, 's').test(title);
}

/** The references no passed test answers for in the report (`jest --json` output). */
function notRun(refs, report) {
  return refs.filter(({ file, name }) => {
    const tests = report.testResults.filter((result) => result.name.endsWith(`/${file}`)).flatMap((suite) => suite.assertionResults);
    return !tests.some((test) => test.status === 'passed' && [test.title, ...test.ancestorTitles].some((title) => titleMatches(name, title)));
  });
}

module.exports = { references, titleMatches, notRun };
