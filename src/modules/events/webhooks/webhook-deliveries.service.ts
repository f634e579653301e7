import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, IsNull, Repository } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { KvStore } from '@/common/kv/kv-store';
import { inTransaction } from '@/database/transaction';
import { AuditService } from '@/modules/audit/audit.service';
import { MetricsService } from '@/modules/operations/metrics.service';
import { MailSender } from '@/modules/verification/senders/message';
import { UsersService } from '@/modules/users/users.service';
import { RealNameCipher } from '@/modules/real-name/real-name-cipher';
import { OutboxEvent } from '../outbox-event.entity';
import { toEventBody } from '../events.service';
import { EndpointPresence } from './endpoint-presence';
import { WebhookDelivery, WebhookEndpoint } from './webhook.entities';
import { signatureHeader } from './signing';
import { TargetRefused, WebhookTargetGuard } from './target-guard';
import { sendWebhook, SendOutcome } from './webhook-sender';

/** Waits after the 1st, 2nd, ... failed attempt (contract §12); after the 8th attempt the delivery is failed. */
export const RETRY_SCHEDULE_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 10 * 3600_000];
export const MAX_ATTEMPTS = RETRY_SCHEDULE_MS.length + 1;
/** Each wait is stretched by up to this fraction at random, so a receiver that comes back is not hit by every retry at once. */
export const RETRY_JITTER = 0.1;
const DISPATCH_BATCH = 500;
const DISPATCH_LOCK = 'webhook-dispatch-lock';

/** The test event's type: sent to one endpoint only, never fanned out. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The wait after `attempts` failed attempts, jitter included (`random` in [0, 1)). */
export function retryDelayMs(attempts: number, random: number = Math.random()): number {
  const base = RETRY_SCHEDULE_MS[Math.min(attempts, RETRY_SCHEDULE_MS.length) - 1];
  return Math.round(base * (1 + RETRY_JITTER * random));
}

/**
 * Fan-out, claiming and sending of webhook deliveries (contract §12).
 *
 * Fan-out: emit() writes only the event (one INSERT in the change's transaction); the worker's
 * dispatch step then writes one delivery row per enabled endpoint subscribed to the type, in event
 * order, and marks the event dispatched — in one transaction, with a unique (event, endpoint) index,
 * so a dispatch repeated by another instance adds nothing.
 *
 * Claiming: a due delivery is claimed by one conditional UPDATE (status → delivering, a lease and a
 * claim token); only one instance's UPDATE matches. An expired lease (a killed instance) is claimable
 * again. The result is written only by the claim's holder (WHERE leased_by = its token).
 *
 * Order: a delivery waits while an earlier one (lower event seq) about the same user to the same
 * endpoint is pending or delivering; a failed one no longer holds the later ones back.
 */
@Injectable()
export class WebhookDeliveriesService {
  private readonly logger = new Logger('Webhooks');
  readonly instanceId = `${process.pid}-${randomBytes(6).toString('hex')}`;

  constructor(
    @InjectRepository(WebhookDelivery) private readonly deliveries: Repository<WebhookDelivery>,
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    @InjectRepository(OutboxEvent) private readonly events: Repository<OutboxEvent>,
    private readonly dataSource: DataSource,
    private readonly guard: WebhookTargetGuard,
    private readonly cipher: RealNameCipher,
    private readonly audit: AuditService,
    private readonly users: UsersService,
    private readonly mail: MailSender,
    private readonly metrics: MetricsService,
    private readonly kv: KvStore,
    private readonly presence: EndpointPresence,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** How long a claim holds: longer than an attempt can take. */
  get leaseMs(): number {
    return this.config.webhooks.timeoutMs * 2 + 5_000;
  }

  /** Writes the delivery rows of undispatched events (oldest first); answers how many events it dispatched. */
  async dispatch(): Promise<number> {
    const token = randomUUID();
    if (!(await this.kv.setIfAbsent(DISPATCH_LOCK, token, 15_000))) return 0;
    try {
      let total = 0;
      for (;;) {
        const batch = await this.events.find({ where: { dispatchedAt: IsNull() }, order: { seq: 'ASC' }, take: DISPATCH_BATCH });
        if (!batch.length) return total;
        const endpoints = (await this.endpoints.find({ where: { enabled: true } })).map((endpoint) => ({ id: endpoint.id, types: JSON.parse(endpoint.events) as string[] }));
        const now = new Date(this.clock.now());
        const rows: Partial<WebhookDelivery>[] = [];
        for (const event of batch) {
          if (event.type === TEST_EVENT_TYPE) continue;
          for (const endpoint of endpoints) {
            if (!endpoint.types.includes('*') && !endpoint.types.includes(event.type)) continue;
            rows.push({ id: randomUUID(), eventSeq: String(event.seq), eventId: event.id, endpointId: endpoint.id, userId: event.userId, type: event.type, status: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now });
          }
        }
        await inTransaction(this.dataSource.manager, async (tx) => {
          for (let i = 0; i < rows.length; i += 200) await tx.createQueryBuilder().insert().into(WebhookDelivery).values(rows.slice(i, i + 200)).orIgnore().execute();
          await tx.update(OutboxEvent, { seq: In(batch.map((event) => event.seq)), dispatchedAt: IsNull() }, { dispatchedAt: now });
        });
        total += batch.length;
        if (batch.length < DISPATCH_BATCH) return total;
      }
    } finally {
      if ((await this.kv.get(DISPATCH_LOCK)) === token) await this.kv.delete(DISPATCH_LOCK);
    }
  }

  /** Claims up to `limit` due deliveries for this instance; answers them with their claim tokens. */
  async claim(limit: number): Promise<{ id: string; token: string }[]> {
    const now = new Date(this.clock.now());
    const candidates: { id: string }[] = await this.dataSource.query(
      `SELECT d.id AS id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
       WHERE e.enabled = 1
         AND ((d.status = 'pending' AND d.next_attempt_at <= ?) OR (d.status = 'delivering' AND d.lease_until < ?))
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.user_id = d.user_id
                         AND p.event_seq < d.event_seq AND p.status IN ('pending', 'delivering'))
       ORDER BY d.event_seq LIMIT ?`,
      [this.time(now), this.time(now), limit],
    );
    const claimed: { id: string; token: string }[] = [];
    for (const { id } of candidates) {
      const token = `${this.instanceId}:${randomBytes(6).toString('hex')}`;
      const result = await this.deliveries
        .createQueryBuilder()
        .update(WebhookDelivery)
        .set({ status: 'delivering', leaseUntil: new Date(now.getTime() + this.leaseMs), leasedBy: token, attempts: () => 'attempts + 1' })
        .where('id = :id', { id })
        .andWhere("((status = 'pending' AND next_attempt_at <= :now) OR (status = 'delivering' AND lease_until < :now))", { now })
        .execute();
      if (result.affected) claimed.push({ id, token });
    }
    return claimed;
  }

  /** Sends one claimed delivery and records the outcome (only while this claim still holds it). */
  async attempt(claim: { id: string; token: string }): Promise<SendOutcome | null> {
    const delivery = await this.deliveries.findOneBy({ id: claim.id, leasedBy: claim.token });
    if (!delivery) return null;
    const [endpoint, event] = await Promise.all([this.endpoints.findOneBy({ id: delivery.endpointId }), this.events.findOneBy({ id: delivery.eventId })]);
    let outcome: SendOutcome;
    if (!endpoint || !event) {
      outcome = { ok: false, statusCode: null, error: 'endpoint or event gone' };
    } else {
      outcome = await this.send(endpoint, event);
    }
    await this.record(delivery, claim.token, outcome, endpoint);
    return outcome;
  }

  /** The signed POST of one event to one endpoint. */
  async send(endpoint: WebhookEndpoint, event: OutboxEvent): Promise<SendOutcome> {
    const now = this.clock.now();
    const body = JSON.stringify(toEventBody(event));
    const timestamp = Math.floor(now / 1000);
    try {
      const url = new URL(endpoint.url);
      const pinned = await this.guard.resolveForSend(url);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'UserCentre-Webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(this.secretsOf(endpoint, now), event.id, timestamp, body),
      };
      return await sendWebhook(url, pinned, headers, body, this.config.webhooks.timeoutMs);
    } catch (error) {
      const reason = error instanceof TargetRefused ? error.message : `could not send: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      return { ok: false, statusCode: null, error: reason.slice(0, 200) };
    }
  }

  /** The secrets that sign now: the current one, and the previous one during its 24 h overlap. */
  secretsOf(endpoint: WebhookEndpoint, now: number): string[] {
    const secrets = [this.cipher.open(endpoint.secretEnc, endpoint.keyId, 'webhook_secret', endpoint.id)];
    if (endpoint.previousSecretEnc && endpoint.previousKeyId && endpoint.previousExpiresAt && endpoint.previousExpiresAt.getTime() > now) {
      secrets.push(this.cipher.open(endpoint.previousSecretEnc, endpoint.previousKeyId, 'webhook_secret', endpoint.id));
    }
    return secrets;
  }

  private async record(delivery: WebhookDelivery, token: string, outcome: SendOutcome, endpoint: WebhookEndpoint | null): Promise<void> {
    const now = new Date(this.clock.now());
    const attempts = delivery.attempts;
    const retry = !outcome.ok && attempts < MAX_ATTEMPTS;
    const status = outcome.ok ? 'delivered' : retry ? 'pending' : 'failed';
    const result = await this.deliveries.update(
      { id: delivery.id, leasedBy: token, status: 'delivering' },
      {
        status,
        nextAttemptAt: retry ? new Date(now.getTime() + retryDelayMs(attempts)) : delivery.nextAttemptAt,
        leaseUntil: null,
        leasedBy: null,
        lastStatusCode: outcome.statusCode,
        lastError: outcome.error?.slice(0, 255) ?? null,
        lastAttemptAt: now,
      },
    );
    if (!result.affected) return; // the lease ran out and another instance took the delivery over
    this.metrics.webhookDelivery(outcome.ok ? 'delivered' : retry ? 'retry' : 'failed');
    if (!endpoint) return;
    if (outcome.ok) {
      if (endpoint.failingSince) await this.endpoints.update({ id: endpoint.id }, { failingSince: null });
      return;
    }
    await this.endpoints.createQueryBuilder().update(WebhookEndpoint).set({ failingSince: now }).where('id = :id AND failing_since IS NULL', { id: endpoint.id }).execute();
    const since = endpoint.failingSince?.getTime() ?? now.getTime();
    if (now.getTime() - since >= this.config.webhooks.disableAfterHours * 3600_000) await this.disableFailing(endpoint, new Date(since));
  }

  /** Disables an endpoint that has failed for WEBHOOK_DISABLE_AFTER_HOURS: once (a conditional UPDATE), audited, the admins emailed. */
  private async disableFailing(endpoint: WebhookEndpoint, since: Date): Promise<void> {
    const now = new Date(this.clock.now());
    const result = await this.endpoints.update({ id: endpoint.id, enabled: true }, { enabled: false, disabledReason: 'failing', updatedAt: now });
    if (!result.affected) return;
    await this.failPending(endpoint.id, 'endpoint disabled');
    await this.presence.endpointDisabled();
    await this.audit.record({ type: 'webhook_disabled', outcome: 'success', detail: { endpointId: endpoint.id, failingSince: since.toISOString(), hours: this.config.webhooks.disableAfterHours } });
    this.logger.warn(`Webhook endpoint ${endpoint.id} disabled: failing since ${since.toISOString()}`);
    const host = new URL(endpoint.url).host;
    for (const to of await this.users.activeAdminEmails()) {
      await this.mail
        .send({
          channel: 'email',
          to,
          purpose: 'notice',
          code: null,
          language: 'en',
          subject: 'A webhook endpoint was disabled',
          text: `The webhook endpoint ${endpoint.id} (${host}) has failed every delivery since ${since.toISOString()} and was disabled after ${this.config.webhooks.disableAfterHours} hours. Its pending deliveries were marked failed. Fix the receiver, enable the endpoint again (PATCH /admin/webhooks/${endpoint.id} {"enabled": true}) and retry what it missed.`,
        })
        .catch((error: Error) => this.logger.warn(`Mail about disabled webhook ${endpoint.id} failed: ${error.message}`));
    }
  }

  /** A disabled endpoint's pending deliveries fail at once (a manual retry re-queues one after it is enabled again). */
  async failPending(endpointId: string, reason: string): Promise<void> {
    await this.deliveries.update({ endpointId, status: In(['pending', 'delivering']) }, { status: 'failed', lastError: reason, leaseUntil: null, leasedBy: null });
  }

  /** Queue depth and the age of the oldest pending delivery's event, for the metrics. */
  async backlog(): Promise<{ depth: number; oldestAgeSeconds: number }> {
    const [row]: { depth: number | string; oldest: string | Date | null }[] = await this.dataSource.query(
      `SELECT COUNT(*) AS depth, MIN(e.created_at) AS oldest FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.status IN ('pending', 'delivering')`,
    );
    const [undispatched]: { oldest: string | Date | null }[] = await this.dataSource.query(`SELECT MIN(created_at) AS oldest FROM events WHERE dispatched_at IS NULL`);
    const times = [row?.oldest, undispatched?.oldest].filter((value): value is string | Date => !!value).map((value) => this.parseTime(value));
    const oldest = times.length ? Math.min(...times) : null;
    return { depth: Number(row?.depth ?? 0), oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (this.clock.now() - oldest) / 1000) };
  }

  /** A Date as a raw query parameter: SQLite stores datetimes as UTC text, mysql2 converts Dates itself. */
  private time(date: Date): Date | string {
    return this.dataSource.options.type === 'better-sqlite3' ? DateUtils.mixedDateToUtcDatetimeString(date) : date;
  }

  private parseTime(value: string | Date): number {
    return value instanceof Date ? value.getTime() : new Date(`${value.replace(' ', 'T')}Z`).getTime();
  }
}
