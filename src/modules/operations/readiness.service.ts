import { BeforeApplicationShutdown, Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { KvStore } from '@/common/kv/kv-store';

export type CheckState = 'up' | 'down';
export interface Readiness {
  ready: boolean;
  shuttingDown: boolean;
  checks: { database: CheckState; cache: CheckState };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether this instance should receive traffic: the database and the shared store answer within
 * HEALTH_TIMEOUT_MS, and shutdown has not begun (the first shutdown hook flips it, before the
 * HTTP server stops accepting, so a load balancer drains the instance).
 */
@Injectable()
export class ReadinessService implements OnModuleDestroy, BeforeApplicationShutdown {
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: DataSource,
    private readonly kv: KvStore,
  ) {}

  get shuttingDown(): boolean {
    return this.stopping;
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  /** Runs before the HTTP server closes: with SHUTDOWN_DELAY_MS, traffic still flows while readiness says 503. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const delay = this.config.operations.shutdownDelayMs;
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
  }

  async check(): Promise<Readiness> {
    const bound = this.config.operations.healthTimeoutMs;
    const probe = (run: () => Promise<unknown>): Promise<CheckState> =>
      within(run(), bound).then(
        () => 'up' as const,
        () => 'down' as const,
      );
    const [database, cache] = await Promise.all([probe(() => this.db.query('SELECT 1')), probe(() => this.kv.ping())]);
    return { ready: !this.stopping && database === 'up' && cache === 'up', shuttingDown: this.stopping, checks: { database, cache } };
  }
}
