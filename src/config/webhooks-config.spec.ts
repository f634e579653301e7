import { loadConfig } from './app-config';

describe('webhook settings', () => {
  it('defaults to at most 50 endpoints', () => {
    expect(loadConfig({}).webhooks.maxEndpoints).toBe(50);
    expect(loadConfig({ WEBHOOK_MAX_ENDPOINTS: '3' }).webhooks.maxEndpoints).toBe(3);
  });

  it.each([
    [{ WEBHOOK_MAX_ENDPOINTS: '0' }, 'WEBHOOK_MAX_ENDPOINTS must be between 1 and 1000 (got 0)'],
    [{ WEBHOOK_MAX_ENDPOINTS: '1001' }, 'WEBHOOK_MAX_ENDPOINTS must be between 1 and 1000 (got 1001)'],
    [{ WEBHOOK_MAX_ENDPOINTS: 'many' }, 'WEBHOOK_MAX_ENDPOINTS must be a whole number (got "many")'],
  ])('refuses %j at start-up, in one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });
});
