import { loadConfig } from './app-config';

describe('retention settings', () => {
  it('defaults to a 30-day grace for ended sessions, a year of audit events, 30 days of outbox events and an hourly purge', () => {
    expect(loadConfig({}).retention).toEqual({ sessionDays: 30, auditDays: 365, eventDays: 30, intervalMinutes: 60, batchSize: 1000 });
  });

  it('reads 0 as "keep audit events forever" and "no purge in the server"', () => {
    expect(loadConfig({ AUDIT_RETENTION_DAYS: '0', RETENTION_INTERVAL_MINUTES: '0' }).retention).toMatchObject({ auditDays: 0, intervalMinutes: 0 });
  });

  it.each([
    [{ SESSION_RETENTION_DAYS: '0' }, 'SESSION_RETENTION_DAYS must be between 1 and 3650 (got 0)'],
    [{ SESSION_RETENTION_DAYS: 'month' }, 'SESSION_RETENTION_DAYS must be a whole number (got "month")'],
    [{ SESSION_RETENTION_DAYS: '1', ACCESS_TOKEN_TTL: '86400' }, 'SESSION_RETENTION_DAYS must be longer than ACCESS_TOKEN_TTL + 60 seconds'],
    [{ AUDIT_RETENTION_DAYS: '-1' }, 'AUDIT_RETENTION_DAYS must be between 0 and 36500 (got -1)'],
    [{ RETENTION_INTERVAL_MINUTES: '20000' }, 'RETENTION_INTERVAL_MINUTES must be between 0 and 10080 (got 20000)'],
    [{ EVENT_RETENTION_DAYS: '0' }, 'EVENT_RETENTION_DAYS must be between 1 and 3650 (got 0)'],
    [{ RETENTION_BATCH_SIZE: '0' }, 'RETENTION_BATCH_SIZE must be between 1 and 100000 (got 0)'],
  ])('refuses %j in one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${message}`);
  });

  it('accepts a one-day grace with the default access-token lifetime', () => {
    expect(loadConfig({ SESSION_RETENTION_DAYS: '1' }).retention.sessionDays).toBe(1);
  });
});
