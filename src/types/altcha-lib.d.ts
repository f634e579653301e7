// altcha-lib publishes its v1 API (the challenge format the ALTCHA widget reads) only through
// package "exports", which this project's classic module resolution does not read; Node and Jest do.
declare module 'altcha-lib/v1' {
  export * from 'altcha-lib/dist/cjs/v1/index';
}
declare module 'altcha-lib/v1/types' {
  export * from 'altcha-lib/dist/cjs/v1/types';
}
