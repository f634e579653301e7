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
