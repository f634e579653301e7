// The tests `npm run mutate` judges mutants with: the unit specs and the e2e specs that exercise the
// mutated modules (the browser, client-generation, process and fault specs add minutes per run and
// prove nothing about these rules). MUTATE_TESTS (a path fragment) narrows the e2e specs further for a
// quick look at one module, e.g. MUTATE_TESTS=test/security/sign-in. Same transform as jest.config.js.
const base = require('./jest.config');

const [unit, e2e] = base.projects;
const only = process.env.MUTATE_TESTS;
module.exports = {
  testTimeout: base.testTimeout,
  // Timing comparisons measure the machine under instrumentation, not the rule; every other test judges.
  testNamePattern: '^(?!.*(about the same time|in the same time|in time)).*$',
  projects: [
    unit,
    {
      ...e2e,
      testMatch: only ? [`<rootDir>/${only}*.e2e-spec.ts`] : ['<rootDir>/test/security/**/*.e2e-spec.ts', '<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', 'route-fuzz', 'security-table', 'openapi', 'avatars', 'cli.e2e', 'retention', 'reliability', 'delivery-transports', 'real-name-provider'],
    },
  ],
};
