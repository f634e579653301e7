import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { KvStore } from '@/common/kv/kv-store';
import { AuditService } from '@/modules/audit/audit.service';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { EventsService } from '@/modules/events/events.service';

export interface PurgeCounts {
  sessions: number;
  refreshTokens: number;
  auditEvents: number;
  /** Outbox events (contract §12). */
  events: number;
}

const DAY_MS = 24 * 3600 * 1000;
/** The first run waits for start-up (and a rolling deploy) to settle. */
const FIRST_RUN_DELAY_MS = 60_000;
const LOCK_KEY = 'retention-lock';

/**
 * Deletes what the retention settings no longer keep: ended sessions with their refresh tokens, and
 * old audit events and outbox events. Every instance runs it each RETENTION_INTERVAL_MINUTES; a short lock in the shared
 * store lets one of them do the work per interval, and the deletes are idempotent if two ever overlap.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async purge(): Promise<PurgeCounts> {
    const { sessionDays, auditDays, eventDays, batchSize } = this.config.retention;
    const now = this.clock.now();
    const ended = await this.sessions.purgeEnded(new Date(now - sessionDays * DAY_MS), batchSize);
    const auditEvents = auditDays ? await this.audit.purgeOlderThan(new Date(now - auditDays * DAY_MS), batchSize) : 0;
    const events = await this.events.purgeOlderThan(new Date(now - eventDays * DAY_MS), batchSize);
    return { ...ended, auditEvents, events };
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs()) this.schedule(Math.min(FIRST_RUN_DELAY_MS, this.intervalMs()));
  }

  /** Runs before the database closes: no new run starts, and one in flight finishes. */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    // A chain of timeouts rather than an interval, so a slow run never overlaps the next one.
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = null;
        if (!this.stopped) this.schedule(this.intervalMs());
      });
    }, delayMs).unref();
  }

  private async runOnce(): Promise<void> {
    try {
      // A little shorter than the interval, so the holder's own next run never finds its old lock.
      if (!(await this.kv.setIfAbsent(LOCK_KEY, '1', Math.floor(this.intervalMs() * 0.9)))) return;
      const counts = await this.purge();
      if (counts.sessions || counts.refreshTokens || counts.auditEvents || counts.events) this.logger.log(JSON.stringify({ retention: counts }));
    } catch (error) {
      this.logger.warn(`Retention purge failed (retried next interval): ${(error as Error).message}`);
    }
  }

  private intervalMs(): number {
    return this.config.retention.intervalMinutes * 60_000;
  }
}
