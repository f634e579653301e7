import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { EndpointPresence } from './endpoint-presence';
import { WebhookDeliveriesService } from './webhook-deliveries.service';

/**
 * The delivery worker of every instance (WEBHOOK_WORKER): each round dispatches new events into
 * delivery rows, claims up to WEBHOOK_BATCH_SIZE due deliveries and sends them in parallel; a round that
 * sent anything starts the next one at once (a user's next event may be due now that the one before it
 * is delivered), an idle one sleeps WEBHOOK_POLL_INTERVAL_MS. While no endpoint is enabled a round
 * reads one shared key and no table (EndpointPresence). Stops before the
 * database closes, letting the round in flight finish (an unfinished claim's lease runs out and
 * another instance takes it over).
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly deliveries: WebhookDeliveriesService,
    private readonly presence: EndpointPresence,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.webhooks.workerEnabled) this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: dispatch, claim, send; answers how many deliveries were attempted. */
  async runOnce(): Promise<number> {
    if (!(await this.presence.anyEnabled())) return 0;
    await this.deliveries.dispatch();
    const round = await this.deliveries.claim(this.config.webhooks.batchSize);
    await this.deliveries.deliver(round);
    return round.deliveries.length;
  }

  /** Rounds until nothing is due (tests drive the worker with this). */
  async drain(): Promise<number> {
    let total = 0;
    for (let sent = await this.runOnce(); sent; sent = await this.runOnce()) total += sent;
    return total;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      let busy = false;
      this.running = this.runOnce()
        .then((sent) => (busy = sent > 0))
        .catch((error: Error) => this.logger.warn(`Webhook round failed (retried next round): ${error.message}`))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.schedule(busy ? 0 : this.config.webhooks.pollIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
