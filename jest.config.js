// Two projects: fast unit specs beside the code, and e2e specs over HTTP under test/.
// @swc/jest compiles TypeScript (with decorator metadata, which Nest's DI needs) far faster than ts-jest.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
// openid-client v6 and its dependencies ship only ES modules. Node >= 20.19 require()s them as they
// are, but Jest's module system cannot, so Jest compiles those three packages to CommonJS as well.
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];
const swcJs = ['@swc/jest', { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const common = {
  transform: { '^.+\\.ts$': swc, [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: swcJs },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: { '^@/(.*)$': '<rootDir>/src/$1' },
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  // A global option: Jest ignores testTimeout inside a project, so the e2e specs ran with the 5 s default.
  testTimeout: 30000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], slowTestThreshold: 15 },
  ],
};
