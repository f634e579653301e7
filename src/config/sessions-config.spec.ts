import { loadConfig } from './app-config';

describe('SESSIONS_PER_USER configuration', () => {
  it('defaults to at most 100 live sessions per account', () => {
    expect(loadConfig({}).sessions.maxPerUser).toBe(100);
    expect(loadConfig({ SESSIONS_PER_USER: '1' }).sessions.maxPerUser).toBe(1);
  });

  it.each([
    [{ SESSIONS_PER_USER: '0' }, 'SESSIONS_PER_USER must be between 1 and 1000 (got 0)'],
    [{ SESSIONS_PER_USER: '1001' }, 'SESSIONS_PER_USER must be between 1 and 1000 (got 1001)'],
    [{ SESSIONS_PER_USER: 'unlimited' }, 'SESSIONS_PER_USER must be a whole number (got "unlimited")'],
  ])('refuses %j at start-up, in one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });
});

describe('SPENT_REFRESH_TOKENS_KEPT configuration', () => {
  it('keeps the newest 100 spent refresh tokens per session by default', () => {
    expect(loadConfig({}).tokens.spentRefreshTokensKept).toBe(100);
    expect(loadConfig({ SPENT_REFRESH_TOKENS_KEPT: '5' }).tokens.spentRefreshTokensKept).toBe(5);
  });

  it.each([
    [{ SPENT_REFRESH_TOKENS_KEPT: '0' }, 'SPENT_REFRESH_TOKENS_KEPT must be between 1 and 10000 (got 0)'],
    [{ SPENT_REFRESH_TOKENS_KEPT: 'all' }, 'SPENT_REFRESH_TOKENS_KEPT must be a whole number (got "all")'],
  ])('refuses %j at start-up, naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });
});
