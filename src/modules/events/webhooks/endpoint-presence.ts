import { Injectable, Logger } from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { Clock } from '@/common/clock';
import { KvStore } from '@/common/kv/kv-store';
import { inExclusiveTransaction } from '@/database/transaction';
import { OutboxEvent } from '../outbox-event.entity';
import { WebhookEndpoint } from './webhook.entities';

/** The named lock under which endpoints are added or enabled, and under which an idle check sweeps the outbox. */
export const ENDPOINTS_LOCK = 'webhook-endpoints';
/** The shared answer to "is any endpoint enabled?": '1' or '0'. */
export const PRESENCE_KEY = 'webhooks:any-enabled';
/**
 * How long that answer is trusted before the database is asked again: the bound on noticing a change
 * the shared store was not told of (a failed write to it, an endpoint enabled by hand in SQL).
 */
export const PRESENCE_TTL_MS = 5_000;

/**
 * Whether the delivery worker has anything to do: with no endpoint enabled a round would only mark
 * new events dispatched, so instead of polling the database every WEBHOOK_POLL_INTERVAL_MS each
 * round reads one shared key, and the database is asked at most every PRESENCE_TTL_MS (once for all
 * instances under Redis). Creating or enabling an endpoint sets the key at once, so every instance's
 * next round delivers.
 *
 * The idle check also marks the events written since the last one dispatched (they have nowhere to
 * go), so a new endpoint receives events from about its creation on, not the outbox's whole history.
 * It runs under the lock that creating and enabling take: no endpoint can appear between its count
 * and its sweep, so an event written after an endpoint was enabled is never swept past it. The lock is
 * taken only when a plain read finds no endpoint enabled: with one enabled there is nothing to sweep.
 */
@Injectable()
export class EndpointPresence {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly dataSource: DataSource,
    private readonly kv: KvStore,
    private readonly clock: Clock,
  ) {}

  async anyEnabled(): Promise<boolean> {
    const known = await this.kv.get(PRESENCE_KEY);
    if (known !== null) return known === '1';
    // A plain read first: while an endpoint is enabled (the common case once the key runs out) there is
    // nothing to sweep, and taking the lock for it would cost every instance a GET_LOCK transaction
    // every PRESENCE_TTL_MS. Only when none is enabled is the lock taken, and the count made again under it.
    const enabled =
      (await this.dataSource.manager.exists(WebhookEndpoint, { where: { enabled: true } })) ||
      (await inExclusiveTransaction(this.dataSource.manager, ENDPOINTS_LOCK, async (tx) => {
        if (await tx.exists(WebhookEndpoint, { where: { enabled: true } })) return true;
        await tx.update(OutboxEvent, { dispatchedAt: IsNull() }, { dispatchedAt: new Date(this.clock.now()) });
        return false;
      }));
    // If absent: an endpoint enabled since this check has set '1', which must not be overwritten.
    await this.kv.setIfAbsent(PRESENCE_KEY, enabled ? '1' : '0', PRESENCE_TTL_MS);
    return enabled;
  }

  /** After an endpoint was created or enabled (committed): every worker's next round delivers. */
  async endpointEnabled(): Promise<void> {
    await this.kv.set(PRESENCE_KEY, '1', PRESENCE_TTL_MS).catch((error: Error) => this.missed(error));
  }

  /** After an endpoint was disabled or deleted: the next round asks the database again. */
  async endpointDisabled(): Promise<void> {
    await this.kv.delete(PRESENCE_KEY).catch((error: Error) => this.missed(error));
  }

  // The change is committed; the workers notice it within PRESENCE_TTL_MS all the same.
  private missed(error: Error): void {
    this.logger.warn(`Could not tell the workers an endpoint changed (noticed within ${PRESENCE_TTL_MS} ms): ${error.message}`);
  }
}
