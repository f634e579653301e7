import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Auth, CurrentUser } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import {
  CreateWebhookDto,
  ListDeliveriesQueryDto,
  UpdateWebhookDto,
  WebhookCreatedDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookListDto,
  WebhookSecretDto,
} from './dto/webhooks.dto';
import { WebhooksErrors } from './webhooks.errors';
import { WebhooksService } from './webhooks.service';

const endpointIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(WebhooksErrors.WEBHOOK_NOT_FOUND) });
const deliveryIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(WebhooksErrors.WEBHOOK_DELIVERY_NOT_FOUND) });
const ENDPOINT_ID = { name: 'id', description: 'Webhook endpoint id', example: '0b8f7a52-3c1d-4e6f-9a2b-5d4c3b2a1f00' };
const SIGNING =
  'Events are POSTed as {id, type, timestamp, data} and signed per Standard Webhooks: webhook-id (the event id), webhook-timestamp (seconds), webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under the secret (whsec_…, key = base64 after the prefix).';

/** Contract §12's admin routes for webhooks; admins only, like the rest of /admin, and every change audited. */
@ApiTags('Admin')
@Auth({ roles: ['admin'] })
@Controller('admin')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post('webhooks')
  @SuccessMessage('webhookCreated')
  @ApiOperation({
    operationId: 'adminCreateWebhook',
    summary: 'Register a webhook endpoint',
    description: `${SIGNING} The secret is shown only in this answer and stored encrypted. Only http(s) URLs without credentials; a URL whose host is or resolves to a loopback, private, link-local, unique-local, CGNAT or metadata address is 400 WEBHOOK_TARGET_NOT_ALLOWED unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true (checked again at every send). At most WEBHOOK_MAX_ENDPOINTS (50) endpoints may exist, disabled ones included: one more is 409 WEBHOOK_LIMIT_REACHED (delete one first), however many instances a burst of creations is spread over. The endpoint receives events dispatched after it exists. Audited as webhook_created.`,
  })
  @ApiEnvelope(WebhookCreatedDto, { status: 201, description: 'The endpoint, with its secret shown this once' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, WebhooksErrors.WEBHOOK_URL_INVALID, WebhooksErrors.WEBHOOK_TARGET_NOT_ALLOWED, WebhooksErrors.WEBHOOK_LIMIT_REACHED)
  create(@CurrentUser() principal: Principal, @Body() dto: CreateWebhookDto, @Client() client: ClientInfo): Promise<WebhookCreatedDto> {
    return this.webhooks.create(principal, dto, client);
  }

  @Get('webhooks')
  @ApiOperation({ operationId: 'adminListWebhooks', summary: 'Webhook endpoints', description: 'Every endpoint, oldest first; never a secret.' })
  @ApiEnvelope(WebhookListDto, { description: 'The endpoints' })
  list(): Promise<WebhookListDto> {
    return this.webhooks.list();
  }

  @Get('webhooks/:id')
  @ApiOperation({ operationId: 'adminGetWebhook', summary: 'One webhook endpoint (no secret)' })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(WebhookDto, { description: 'The endpoint' })
  @ApiErrors(WebhooksErrors.WEBHOOK_NOT_FOUND)
  get(@Param('id', endpointIdPipe) id: string): Promise<WebhookDto> {
    return this.webhooks.get(id);
  }

  @Patch('webhooks/:id')
  @SuccessMessage('updated')
  @ApiOperation({
    operationId: 'adminUpdateWebhook',
    summary: 'Change a webhook endpoint',
    description:
      'Any of url (same rules as at creation), events, enabled, description. Disabling marks its pending deliveries failed (retry them one by one after enabling again); enabling clears the failure clock of WEBHOOK_DISABLE_AFTER_HOURS. Audited as webhook_updated.',
  })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(WebhookDto, { description: 'The updated endpoint' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, WebhooksErrors.WEBHOOK_NOT_FOUND, WebhooksErrors.WEBHOOK_URL_INVALID, WebhooksErrors.WEBHOOK_TARGET_NOT_ALLOWED)
  update(@CurrentUser() principal: Principal, @Param('id', endpointIdPipe) id: string, @Body() dto: UpdateWebhookDto, @Client() client: ClientInfo): Promise<WebhookDto> {
    return this.webhooks.update(principal, id, dto, client);
  }

  @Delete('webhooks/:id')
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'adminDeleteWebhook', summary: 'Delete a webhook endpoint', description: 'With its delivery log; nothing more is sent to it. Audited as webhook_deleted.' })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(null, { description: 'Deleted' })
  @ApiErrors(WebhooksErrors.WEBHOOK_NOT_FOUND)
  async remove(@CurrentUser() principal: Principal, @Param('id', endpointIdPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    await this.webhooks.remove(principal, id, client);
  }

  @Post('webhooks/:id/rotate-secret')
  @HttpCode(200)
  @SuccessMessage('secretRotated')
  @ApiOperation({
    operationId: 'adminRotateWebhookSecret',
    summary: "Rotate an endpoint's signing secret",
    description:
      'A new secret, shown only in this answer. For 24 hours every delivery carries two signatures (webhook-signature "v1,<new> v1,<old>"), so a receiver verifies with either while it switches; after that only the new one signs. Rotating again within the 24 hours ends the older overlap at once (only the secret just replaced keeps verifying). Audited as webhook_secret_rotated.',
  })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(WebhookSecretDto, { description: 'The new secret, shown this once' })
  @ApiErrors(WebhooksErrors.WEBHOOK_NOT_FOUND)
  rotateSecret(@CurrentUser() principal: Principal, @Param('id', endpointIdPipe) id: string, @Client() client: ClientInfo): Promise<WebhookSecretDto> {
    return this.webhooks.rotateSecret(principal, id, client);
  }

  @Post('webhooks/:id/test')
  @HttpCode(202)
  @SuccessMessage('queued')
  @ApiOperation({
    operationId: 'adminTestWebhook',
    summary: 'Send a webhook.test event to this endpoint',
    description:
      'Queues one event of type webhook.test, data {endpointId}, for this endpoint only (no other endpoint receives it); it is signed, retried and logged like any other. 409 WEBHOOK_DISABLED for a disabled endpoint. Audited as webhook_tested.',
  })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(null, { status: 202, description: 'Queued' })
  @ApiErrors(WebhooksErrors.WEBHOOK_NOT_FOUND, WebhooksErrors.WEBHOOK_DISABLED)
  async test(@CurrentUser() principal: Principal, @Param('id', endpointIdPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    await this.webhooks.sendTest(principal, id, client);
  }

  @Get('webhooks/:id/deliveries')
  @ApiOperation({
    operationId: 'adminListWebhookDeliveries',
    summary: "An endpoint's delivery log",
    description: 'One row per event sent (or to be sent) to the endpoint, newest event first, filtered by status (pending, delivering, delivered, failed). Paged (pageSize at most 100).',
  })
  @ApiParam(ENDPOINT_ID)
  @ApiEnvelope(WebhookDeliveryPageDto, { description: 'A page of deliveries' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, WebhooksErrors.WEBHOOK_NOT_FOUND)
  listDeliveries(@Param('id', endpointIdPipe) id: string, @Query() query: ListDeliveriesQueryDto): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.listDeliveries(id, query);
  }

  @Post('webhook-deliveries/:id/retry')
  @HttpCode(202)
  @SuccessMessage('queued')
  @ApiOperation({
    operationId: 'adminRetryWebhookDelivery',
    summary: 'Send a delivery again now',
    description:
      'A pending delivery becomes due now; a failed or delivered one (a replay) is queued again. One in flight is left as it is. However many retries arrive at once, the delivery is attempted once (it is one row, claimed by one worker); when that attempt fails, the rest of the retry schedule follows, or it is failed at once if the schedule was used up. 409 WEBHOOK_DISABLED while its endpoint is disabled. Audited as webhook_delivery_retried.',
  })
  @ApiParam({ name: 'id', description: 'Delivery id', example: '9a1c2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' })
  @ApiEnvelope(null, { status: 202, description: 'Queued' })
  @ApiErrors(WebhooksErrors.WEBHOOK_DELIVERY_NOT_FOUND, WebhooksErrors.WEBHOOK_DISABLED)
  async retry(@CurrentUser() principal: Principal, @Param('id', deliveryIdPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    await this.webhooks.retry(principal, id, client);
  }
}
