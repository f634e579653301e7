import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsService } from '@/modules/operations/metrics.service';
import { RealNameCryptoModule } from '@/modules/real-name/real-name-crypto.module';
import { UsersModule } from '@/modules/users/users.module';
import { SendersModule } from '@/modules/verification/senders/senders.module';
import { OutboxEvent } from '../outbox-event.entity';
import { EndpointPresence } from './endpoint-presence';
import { WebhookResolver, WebhookTargetGuard } from './target-guard';
import { WebhookDelivery, WebhookEndpoint } from './webhook.entities';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhookWorker } from './webhook-worker';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Signed webhooks (contract §12): the admin routes, fan-out, the delivery worker and its metrics. */
@Module({
  imports: [TypeOrmModule.forFeature([WebhookEndpoint, WebhookDelivery, OutboxEvent]), RealNameCryptoModule, UsersModule, SendersModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, WebhookDeliveriesService, WebhookWorker, WebhookTargetGuard, WebhookResolver, EndpointPresence],
  exports: [WebhookWorker],
})
export class WebhooksModule implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly deliveries: WebhookDeliveriesService,
  ) {}

  onModuleInit(): void {
    this.metrics.setWebhookBacklog(() => this.deliveries.backlog());
  }
}
