// The tests `npm run mutate` judges mutants with: the unit specs and the e2e specs that exercise the
// mutated modules (the browser, client-generation, process and fault specs add minutes per run and
// prove nothing about these rules). Stryker's Jest runner loads every matched spec file for every
// mutant (it filters by test name only), so a quick look at one module narrows them with MUTATE_TESTS:
// comma-separated path fragments; those under src/ pick the unit specs, those under test/ the e2e specs,
// and a project no fragment names is left out, e.g.
//   MUTATE_TESTS=src/modules/auth/login-throttle                      (one unit spec, no e2e)
//   MUTATE_TESTS=src/modules/users/password,test/security/passwords   (unit specs + one e2e spec)
// Same transform as jest.config.js.
const base = require('./jest.config');

const [unit, e2e] = base.projects;
const only = (process.env.MUTATE_TESTS ?? '').split(',').map((fragment) => fragment.trim()).filter(Boolean);
// A fragment names a file's beginning (src/modules/auth/login-throttle) or a folder (src/common/kv).
const picked = (root, suffix) => only.filter((fragment) => fragment.startsWith(root)).flatMap((fragment) => [`<rootDir>/${fragment}*${suffix}`, `<rootDir>/${fragment}*/**/*${suffix}`]);
const unitProject = only.length ? { ...unit, testMatch: picked('src/', '.spec.ts') } : unit;
const e2eProject = {
  ...e2e,
  testMatch: only.length ? picked('test/', '.e2e-spec.ts') : ['<rootDir>/test/security/**/*.e2e-spec.ts', '<rootDir>/test/e2e/**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', 'route-fuzz', 'security-table', 'openapi', 'avatars', 'cli.e2e', 'retention', 'reliability', 'delivery-transports', 'real-name-provider'],
};
module.exports = {
  testTimeout: base.testTimeout,
  // Timing comparisons measure the machine under instrumentation, not the rule; every other test judges.
  testNamePattern: '^(?!.*(about the same time|in the same time|in time)).*$',
  projects: [unitProject, e2eProject].filter((project) => project.testMatch.length),
};
