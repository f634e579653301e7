import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { logLinesDropped } from '@/common/logging/app-logger';

export type SignInOutcome = 'success' | 'failure';

/**
 * Most (method, route, status) series of the request metrics; past it, new combinations are counted
 * under one `other` series. Routes are templates and statuses few, so a real deployment stays far
 * below; each series is a counter and an 11-bucket histogram child, about 2 KB with its labels.
 */
export const MAX_REQUEST_SERIES = 1000;
const OVERFLOW_KEY = 'other';

/**
 * Prometheus metrics of this process. One registry per application (tests build many apps in one
 * process); labels are route templates and fixed words only, never anything a caller typed.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly signIns = new Counter({
    name: 'user_centre_sign_ins_total',
    help: 'Sign-in attempts, by outcome and method',
    labelNames: ['outcome', 'method'] as const,
    registers: [this.registry],
  });

  private readonly codesSent = new Counter({
    name: 'user_centre_codes_sent_total',
    help: 'Verification codes requested, by channel, purpose and outcome (sent, withheld: answered alike but not delivered, failed)',
    labelNames: ['channel', 'purpose', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly webhookDeliveries = new Counter({
    name: 'user_centre_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (delivered; retry: failed, another attempt scheduled; failed: no attempt left)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Reads the delivery backlog from the database when scraped (set by the webhooks module). */
  private webhookBacklog: (() => Promise<{ depth: number; oldestAgeSeconds: number }>) | null = null;
  private backlogRead: Promise<{ depth: number; oldestAgeSeconds: number }> | null = null;

  /**
   * The label children of each (method, status, route) seen, so a request costs a map look-up
   * instead of prom-client hashing a label object twice. At most MAX_REQUEST_SERIES + 1 (the overflow).
   */
  private readonly requestSeries = new Map<string, { count: { inc(): void }; duration: { observe(value: number): void } }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'user_centre_log_lines_dropped',
      help: 'Log lines dropped since start because more were waiting for the disk than the log buffer holds',
      registers: [this.registry],
      collect() {
        this.set(logLinesDropped());
      },
    });
    // One database read per scrape for both gauges; a failed read leaves them at their last value.
    const backlog = () => (this.backlogRead ??= (this.webhookBacklog?.() ?? Promise.resolve({ depth: 0, oldestAgeSeconds: 0 })).finally(() => setImmediate(() => (this.backlogRead = null))));
    new Gauge({
      name: 'user_centre_webhook_queue_depth',
      help: 'Webhook deliveries pending or in flight, all endpoints',
      registers: [this.registry],
      async collect() {
        this.set((await backlog().catch(() => null))?.depth ?? 0);
      },
    });
    new Gauge({
      name: 'user_centre_webhook_oldest_pending_seconds',
      help: 'Age of the oldest event with a delivery still pending (or not yet dispatched), in seconds; 0 when none',
      registers: [this.registry],
      async collect() {
        this.set((await backlog().catch(() => null))?.oldestAgeSeconds ?? 0);
      },
    });
  }

  setWebhookBacklog(source: () => Promise<{ depth: number; oldestAgeSeconds: number }>): void {
    this.webhookBacklog = source;
  }

  /** `count` deliveries recorded with this outcome (a round records its successes in one UPDATE). */
  webhookDelivery(outcome: 'delivered' | 'retry' | 'failed', count = 1): void {
    if (count > 0) this.webhookDeliveries.inc({ outcome }, count);
  }

  /** `route` is the route template (e.g. /api/v1/users/:id), or "unmatched" for a 404 on no route. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let key = `${method} ${status} ${route}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      const full = this.requestSeries.size >= MAX_REQUEST_SERIES;
      if (full) series = this.requestSeries.get((key = OVERFLOW_KEY));
      if (!series) {
        const labels = full ? { method: OVERFLOW_KEY, route: OVERFLOW_KEY, status: OVERFLOW_KEY } : { method, route, status: String(status) };
        series = { count: this.requests.labels(labels), duration: this.duration.labels(labels) };
        this.requestSeries.set(key, series);
      }
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  signIn(outcome: SignInOutcome, method: string): void {
    this.signIns.inc({ outcome, method });
  }

  codeSent(channel: string, purpose: string, outcome: 'sent' | 'withheld' | 'failed'): void {
    this.codesSent.inc({ channel, purpose, outcome });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
