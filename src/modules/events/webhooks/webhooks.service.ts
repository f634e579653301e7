import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, Repository } from 'typeorm';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { inExclusiveTransaction, inTransaction } from '@/database/transaction';
import { AuditService } from '@/modules/audit/audit.service';
import type { Principal } from '@/modules/auth/principal';
import { RealNameCipher } from '@/modules/real-name/real-name-cipher';
import { OutboxEvent } from '../outbox-event.entity';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  toDeliveryView,
  toWebhookView,
  UpdateWebhookDto,
  WebhookCreatedDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookListDto,
  WebhookSecretDto,
} from './dto/webhooks.dto';
import { ENDPOINTS_LOCK, EndpointPresence } from './endpoint-presence';
import { newSigningSecret } from './signing';
import { WebhookTargetGuard } from './target-guard';
import { WebhookDelivery, WebhookEndpoint } from './webhook.entities';
import { TEST_EVENT_TYPE, WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhooksErrors } from './webhooks.errors';

/** A rotated-out secret keeps signing (beside the new one) this long. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;

/** The admin side of contract §12: endpoints, their secrets, the delivery log, retries and the test event. */
@Injectable()
export class WebhooksService {
  constructor(
    @InjectRepository(WebhookEndpoint) private readonly endpoints: Repository<WebhookEndpoint>,
    @InjectRepository(WebhookDelivery) private readonly deliveries: Repository<WebhookDelivery>,
    private readonly dataSource: DataSource,
    private readonly guard: WebhookTargetGuard,
    private readonly cipher: RealNameCipher,
    private readonly delivery: WebhookDeliveriesService,
    private readonly presence: EndpointPresence,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Refused past WEBHOOK_MAX_ENDPOINTS (disabled ones count: enabling one needs no room), however many instances a burst hits. */
  async create(actor: Principal, dto: CreateWebhookDto, client: ClientInfo): Promise<WebhookCreatedDto> {
    const url = await this.guard.checkOnSave(dto.url);
    const now = new Date(this.clock.now());
    const id = randomUUID();
    const secret = newSigningSecret();
    const endpoint: WebhookEndpoint = {
      id,
      url,
      description: dto.description || null,
      events: JSON.stringify(dto.events.includes('*') ? ['*'] : dto.events),
      enabled: true,
      disabledReason: null,
      keyId: this.cipher.currentKeyId,
      secretEnc: this.cipher.seal(secret, 'webhook_secret', id),
      previousKeyId: null,
      previousSecretEnc: null,
      previousExpiresAt: null,
      failingSince: null,
      createdAt: now,
      updatedAt: now,
    };
    await inExclusiveTransaction(this.dataSource.manager, ENDPOINTS_LOCK, async (tx) => {
      if ((await tx.count(WebhookEndpoint)) >= this.config.webhooks.maxEndpoints) throw new AppException(WebhooksErrors.WEBHOOK_LIMIT_REACHED);
      await tx.insert(WebhookEndpoint, endpoint);
    });
    await this.presence.endpointEnabled();
    await this.audit.record({ type: 'webhook_created', outcome: 'success', actorId: actor.userId, client, detail: { endpointId: id, host: new URL(url).host } });
    return { ...toWebhookView(endpoint, now.getTime()), secret };
  }

  async list(): Promise<WebhookListDto> {
    const now = this.clock.now();
    return { items: (await this.endpoints.find({ order: { createdAt: 'ASC', id: 'ASC' } })).map((endpoint) => toWebhookView(endpoint, now)) };
  }

  async get(id: string): Promise<WebhookDto> {
    return toWebhookView(await this.find(id), this.clock.now());
  }

  async update(actor: Principal, id: string, dto: UpdateWebhookDto, client: ClientInfo): Promise<WebhookDto> {
    if (dto.url === undefined && dto.events === undefined && dto.enabled === undefined && dto.description === undefined) {
      throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'body', message: 'send url, events, enabled or description' }] });
    }
    const endpoint = await this.find(id);
    const changes: Partial<WebhookEndpoint> = { updatedAt: new Date(this.clock.now()) };
    if (dto.url !== undefined) changes.url = await this.guard.checkOnSave(dto.url);
    if (dto.events !== undefined) changes.events = JSON.stringify(dto.events.includes('*') ? ['*'] : dto.events);
    if (dto.description !== undefined) changes.description = dto.description || null;
    if (dto.enabled === true && !endpoint.enabled) Object.assign(changes, { enabled: true, disabledReason: null, failingSince: null });
    if (dto.enabled === false && endpoint.enabled) Object.assign(changes, { enabled: false, disabledReason: 'admin' });
    // Under the lock an idle worker sweeps the outbox with, so no event written after this commit is swept past the endpoint.
    await inExclusiveTransaction(this.dataSource.manager, ENDPOINTS_LOCK, (tx) => tx.update(WebhookEndpoint, { id }, changes));
    if (changes.enabled === true) await this.presence.endpointEnabled();
    if (changes.enabled === false) {
      await this.delivery.failPending(id, 'endpoint disabled');
      await this.presence.endpointDisabled();
    }
    await this.audit.record({
      type: 'webhook_updated',
      outcome: 'success',
      actorId: actor.userId,
      client,
      detail: { endpointId: id, fields: Object.keys(dto).sort().join(','), ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}) },
    });
    return this.get(id);
  }

  /** Deletes the endpoint and its delivery log. */
  async remove(actor: Principal, id: string, client: ClientInfo): Promise<void> {
    await this.find(id);
    await inTransaction(this.dataSource.manager, async (tx) => {
      await tx.delete(WebhookDelivery, { endpointId: id });
      await tx.delete(WebhookEndpoint, { id });
    });
    await this.presence.endpointDisabled();
    await this.audit.record({ type: 'webhook_deleted', outcome: 'success', actorId: actor.userId, client, detail: { endpointId: id } });
  }

  /** A new secret; the current one becomes the previous one and keeps signing for 24 h (an older previous one stops now). */
  async rotateSecret(actor: Principal, id: string, client: ClientInfo): Promise<WebhookSecretDto> {
    const endpoint = await this.find(id);
    const now = this.clock.now();
    const secret = newSigningSecret();
    // Conditional on the secret read: of two rotations at once one wins, the other is retried on the new state.
    const result = await this.endpoints.update(
      { id, secretEnc: endpoint.secretEnc },
      {
        keyId: this.cipher.currentKeyId,
        secretEnc: this.cipher.seal(secret, 'webhook_secret', id),
        previousKeyId: endpoint.keyId,
        previousSecretEnc: endpoint.secretEnc,
        previousExpiresAt: new Date(now + ROTATION_OVERLAP_MS),
        updatedAt: new Date(now),
      },
    );
    if (!result.affected) return this.rotateSecret(actor, id, client);
    await this.audit.record({ type: 'webhook_secret_rotated', outcome: 'success', actorId: actor.userId, client, detail: { endpointId: id } });
    return { secret };
  }

  /** Queues a `webhook.test` event for this endpoint only. */
  async sendTest(actor: Principal, id: string, client: ClientInfo): Promise<void> {
    const endpoint = await this.find(id);
    if (!endpoint.enabled) throw new AppException(WebhooksErrors.WEBHOOK_DISABLED);
    const now = new Date(this.clock.now());
    const eventId = randomUUID();
    await inTransaction(this.dataSource.manager, async (tx) => {
      await tx.insert(OutboxEvent, { id: eventId, type: TEST_EVENT_TYPE, userId: null, data: JSON.stringify({ endpointId: id }), createdAt: now, dispatchedAt: now });
      const event = await tx.findOneByOrFail(OutboxEvent, { id: eventId });
      await tx.insert(WebhookDelivery, { id: randomUUID(), eventSeq: String(event.seq), eventId, endpointId: id, userId: null, type: TEST_EVENT_TYPE, status: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now });
    });
    await this.audit.record({ type: 'webhook_tested', outcome: 'success', actorId: actor.userId, client, detail: { endpointId: id, eventId } });
  }

  async listDeliveries(id: string, query: ListDeliveriesQueryDto): Promise<WebhookDeliveryPageDto> {
    await this.find(id);
    const [rows, total] = await this.deliveries.findAndCount({
      where: { endpointId: id, ...(query.status ? { status: query.status } : {}) },
      order: { eventSeq: 'DESC' },
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
    return { items: rows.map(toDeliveryView), page: query.page, pageSize: query.pageSize, total };
  }

  /**
   * Makes a delivery due now (pending, failed or delivered: a replay); one in flight is left alone.
   * However many arrive at once, the delivery is one row, claimed by one worker: one attempt.
   */
  async retry(actor: Principal, deliveryId: string, client: ClientInfo): Promise<void> {
    const delivery = await this.deliveries.findOneBy({ id: deliveryId });
    if (!delivery) throw new AppException(WebhooksErrors.WEBHOOK_DELIVERY_NOT_FOUND);
    const endpoint = await this.endpoints.findOneBy({ id: delivery.endpointId });
    if (!endpoint) throw new AppException(WebhooksErrors.WEBHOOK_DELIVERY_NOT_FOUND);
    if (!endpoint.enabled) throw new AppException(WebhooksErrors.WEBHOOK_DISABLED);
    await this.deliveries.update({ id: deliveryId, status: In(['pending', 'failed', 'delivered']) }, { status: 'pending', nextAttemptAt: new Date(this.clock.now()) });
    await this.audit.record({ type: 'webhook_delivery_retried', outcome: 'success', actorId: actor.userId, client, detail: { endpointId: endpoint.id, deliveryId, eventId: delivery.eventId } });
  }

  private async find(id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.endpoints.findOneBy({ id });
    if (!endpoint) throw new AppException(WebhooksErrors.WEBHOOK_NOT_FOUND);
    return endpoint;
  }
}
