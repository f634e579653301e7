import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '@/common/http/pagination';
import { EVENT_TYPES } from '../../event-types';
import { DELIVERY_STATUSES, DeliveryStatus, WebhookDelivery, WebhookEndpoint } from '../webhook.entities';

export const SUBSCRIBABLE = ['*', ...EVENT_TYPES] as const;
const EXAMPLE_ID = '0b8f7a52-3c1d-4e6f-9a2b-5d4c3b2a1f00';

export class CreateWebhookDto {
  @ApiProperty({ description: 'Where events are POSTed: http(s), no user name or password, at most 2048 characters; loopback and private addresses only with WEBHOOK_ALLOW_PRIVATE_TARGETS=true', example: 'https://hooks.example.com/user-centre', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  url: string;

  @ApiProperty({ description: 'Event types to receive, or ["*"] for all (contract §12)', enum: SUBSCRIBABLE, isArray: true, example: ['user.deleted', 'user.disabled'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SUBSCRIBABLE.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE, { each: true })
  events: string[];

  @ApiPropertyOptional({ description: 'What the endpoint is for', example: 'billing service: closes accounts', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ description: 'New target (same rules as at creation)', example: 'https://hooks.example.com/user-centre/v2', maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ description: 'Event types to receive, or ["*"]', enum: SUBSCRIBABLE, isArray: true, example: ['*'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SUBSCRIBABLE.length)
  @ArrayUnique()
  @IsIn(SUBSCRIBABLE, { each: true })
  events?: string[];

  @ApiPropertyOptional({ description: 'false stops deliveries (its pending ones are marked failed); true starts them again', example: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ description: 'What the endpoint is for; "" clears it', example: 'billing service', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;
}

export class WebhookDto {
  @ApiProperty({ description: 'Endpoint id', example: EXAMPLE_ID })
  id: string;

  @ApiProperty({ description: 'Where events are POSTed', example: 'https://hooks.example.com/user-centre' })
  url: string;

  @ApiProperty({ description: 'Event types it receives, or ["*"] for all', enum: SUBSCRIBABLE, isArray: true, example: ['user.deleted', 'user.disabled'] })
  events: string[];

  @ApiProperty({ type: String, nullable: true, description: 'What the endpoint is for', example: 'billing service: closes accounts' })
  description: string | null;

  @ApiProperty({ description: 'Whether deliveries are made to it', example: true })
  enabled: boolean;

  @ApiProperty({ type: String, nullable: true, enum: ['admin', 'failing', null], description: 'Why it is disabled: by an admin, or after failing for WEBHOOK_DISABLE_AFTER_HOURS', example: null })
  disabledReason: 'admin' | 'failing' | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'First failed attempt since the last success; null while it answers', example: null })
  failingSince: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'Until then the secret before the last rotation still signs, beside the current one', example: null })
  previousSecretExpiresAt: string | null;

  @ApiProperty({ format: 'date-time', description: 'When it was registered', example: '2026-12-07T08:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'When it last changed', example: '2026-12-07T08:00:00.000Z' })
  updatedAt: string;
}

export class WebhookListDto {
  @ApiProperty({ type: [WebhookDto], description: 'Every endpoint, oldest first (no secrets)' })
  items: WebhookDto[];
}

export class WebhookSecretDto {
  @ApiProperty({ description: 'The signing secret (whsec_ and base64 of 32 random bytes); shown only now, stored encrypted', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw2H3Q4fT9Jc0=' })
  secret: string;
}

export class WebhookCreatedDto extends WebhookDto {
  @ApiProperty({ description: 'The signing secret (whsec_ and base64 of 32 random bytes); shown only now, stored encrypted', example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw2H3Q4fT9Jc0=' })
  secret: string;
}

export class ListDeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only deliveries in this state', enum: DELIVERY_STATUSES, example: 'failed' })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class WebhookDeliveryDto {
  @ApiProperty({ description: 'Delivery id (for the retry route)', example: '9a1c2b3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d' })
  id: string;

  @ApiProperty({ description: 'The event id (also the webhook-id header)', example: '7d3f0c52-5f0e-4c8e-9a4b-2f8f1b6f0a11' })
  eventId: string;

  @ApiProperty({ description: "The event's type", example: 'user.deleted' })
  type: string;

  @ApiProperty({ enum: DELIVERY_STATUSES, description: 'pending (due or waiting for a retry), delivering (an attempt in flight), delivered (a 2xx), failed (no attempt left, or its endpoint was disabled)', example: 'pending' })
  status: DeliveryStatus;

  @ApiProperty({ description: 'Attempts made so far', example: 2 })
  attempts: number;

  @ApiProperty({ type: Number, nullable: true, description: "The last answer's HTTP status; null when there was none (timeout, refused, connection error)", example: 500 })
  lastStatusCode: number | null;

  @ApiProperty({ type: String, nullable: true, description: 'Why the last attempt failed, in a few words', example: 'HTTP 500' })
  lastError: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'When the next attempt is due; null once delivered or failed', example: '2026-12-07T08:05:00.000Z' })
  nextAttemptAt: string | null;

  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: 'When the last attempt was made; null before the first', example: '2026-12-07T08:00:05.000Z' })
  lastAttemptAt: string | null;

  @ApiProperty({ format: 'date-time', description: 'When the delivery was created (the event dispatched to this endpoint)', example: '2026-12-07T08:00:00.000Z' })
  createdAt: string;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto], description: 'Deliveries, newest event first' })
  items: WebhookDeliveryDto[];

  @ApiProperty({ description: 'This page number', example: 1 })
  page: number;

  @ApiProperty({ description: 'Items per page', example: 20 })
  pageSize: number;

  @ApiProperty({ description: 'Matching deliveries over all pages', example: 42 })
  total: number;
}

export function toWebhookView(endpoint: WebhookEndpoint, now: number): WebhookDto {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: JSON.parse(endpoint.events) as string[],
    description: endpoint.description,
    enabled: !!endpoint.enabled,
    disabledReason: endpoint.enabled ? null : endpoint.disabledReason,
    failingSince: endpoint.failingSince?.toISOString() ?? null,
    previousSecretExpiresAt: endpoint.previousExpiresAt && endpoint.previousExpiresAt.getTime() > now ? endpoint.previousExpiresAt.toISOString() : null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

export function toDeliveryView(delivery: WebhookDelivery): WebhookDeliveryDto {
  const open = delivery.status === 'pending' || delivery.status === 'delivering';
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    type: delivery.type,
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    nextAttemptAt: open ? delivery.nextAttemptAt.toISOString() : null,
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    createdAt: delivery.createdAt.toISOString(),
  };
}
