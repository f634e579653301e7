import { Logger } from '@nestjs/common';
import { loadConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { MemoryKvStore } from '@/common/kv/memory-kv.store';
import type { AuditService } from '@/modules/audit/audit.service';
import type { SessionsService } from '@/modules/auth/sessions/sessions.service';
import type { EventsService } from '@/modules/events/events.service';
import { RetentionService } from './retention.service';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const clock: Clock = { now: () => Date.now() };

/** One instance's job with mocked tables; `kv` is the store the instances share. */
function instance(kv: MemoryKvStore, env: Record<string, string> = {}) {
  const sessions = { purgeEnded: jest.fn().mockResolvedValue({ sessions: 2, refreshTokens: 5 }) };
  const audit = { purgeOlderThan: jest.fn().mockResolvedValue(3) };
  const events = { purgeOlderThan: jest.fn().mockResolvedValue(4) };
  const service = new RetentionService(sessions as unknown as SessionsService, audit as unknown as AuditService, events as unknown as EventsService, kv, clock, loadConfig(env));
  return { service, sessions, audit, events };
}

describe('RetentionService', () => {
  let kv: MemoryKvStore;
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    kv = new MemoryKvStore(clock);
  });
  afterEach(async () => {
    await kv.close();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('purges with cut-offs taken from the clock and answers the counts', async () => {
    const { service, sessions, audit, events } = instance(kv, { SESSION_RETENTION_DAYS: '7', AUDIT_RETENTION_DAYS: '90', EVENT_RETENTION_DAYS: '20', RETENTION_BATCH_SIZE: '50' });
    const now = Date.now();
    expect(await service.purge()).toEqual({ sessions: 2, refreshTokens: 5, auditEvents: 3, events: 4 });
    expect(sessions.purgeEnded).toHaveBeenCalledWith(new Date(now - 7 * DAY), 50);
    expect(audit.purgeOlderThan).toHaveBeenCalledWith(new Date(now - 90 * DAY), 50);
    expect(events.purgeOlderThan).toHaveBeenCalledWith(new Date(now - 20 * DAY), 50);
  });

  it('never deletes audit events when AUDIT_RETENTION_DAYS=0', async () => {
    const { service, audit } = instance(kv, { AUDIT_RETENTION_DAYS: '0' });
    expect(await service.purge()).toMatchObject({ auditEvents: 0 });
    expect(audit.purgeOlderThan).not.toHaveBeenCalled();
  });

  it('runs a minute after start-up, then every interval, until shutdown', async () => {
    const { service, sessions } = instance(kv, { RETENTION_INTERVAL_MINUTES: '30' });
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(MINUTE - 1);
    expect(sessions.purgeEnded).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    expect(sessions.purgeEnded).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(30 * MINUTE);
    expect(sessions.purgeEnded).toHaveBeenCalledTimes(2);
    await service.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(3 * 30 * MINUTE);
    expect(sessions.purgeEnded).toHaveBeenCalledTimes(2);
    expect(jest.getTimerCount()).toBe(1); // only the store's own sweeper is left
  });

  it('does not run in the server when RETENTION_INTERVAL_MINUTES=0', async () => {
    const { service, sessions } = instance(kv, { RETENTION_INTERVAL_MINUTES: '0' });
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(7 * DAY);
    expect(sessions.purgeEnded).not.toHaveBeenCalled();
  });

  it('lets one of several instances work per interval', async () => {
    const instances = [instance(kv), instance(kv), instance(kv)];
    for (const { service } of instances) service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(MINUTE + 3 * 60 * MINUTE);
    const runs = instances.map(({ sessions }) => sessions.purgeEnded.mock.calls.length);
    expect(runs.reduce((sum, n) => sum + n, 0)).toBe(4);
    for (const { service } of instances) await service.onModuleDestroy();
  });

  it('logs a failed run and tries again next interval', async () => {
    const { service, sessions } = instance(kv, { RETENTION_INTERVAL_MINUTES: '10' });
    sessions.purgeEnded.mockRejectedValueOnce(new Error('database away'));
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(MINUTE);
    expect(Logger.prototype.warn).toHaveBeenCalledWith('Retention purge failed (retried next interval): database away');
    await jest.advanceTimersByTimeAsync(10 * MINUTE);
    expect(sessions.purgeEnded).toHaveBeenCalledTimes(2);
    await service.onModuleDestroy();
  });
});
