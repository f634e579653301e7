import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, LessThan, Repository } from 'typeorm';
import { Clock } from '@/common/clock';
import { ClientInfo } from '@/common/http/decorators';
import { deleteInBatches } from '@/database/batched-delete';
import { AuditEvent } from './audit-event.entity';
import { AuditEventDto, toAuditEventView } from './dto/audit-event.dto';

export const AUDIT_EVENT_TYPES = [
  'sign_in',
  'sign_out',
  'session_revoked',
  'refresh_reuse',
  'account_locked',
  'sign_up',
  'password_changed',
  'password_reset',
  'email_changed',
  'phone_changed',
  'api_key_created',
  'api_key_deleted',
  'email_verified',
  'account_reclaimed',
  'role_changed',
  'status_changed',
  'account_deleted',
  'real_name_submitted',
  'real_name_read',
  'access_denied',
  'admin_created',
  'identity_linked',
  'identity_unlinked',
  'sessions_revoked_all',
  'mfa_enabled',
  'mfa_disabled',
  'mfa_reset',
  'recovery_codes_regenerated',
  'step_up',
  'data_exported',
  'webhook_created',
  'webhook_updated',
  'webhook_deleted',
  'webhook_secret_rotated',
  'webhook_tested',
  'webhook_delivery_retried',
  'webhook_disabled',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditRecord {
  type: AuditEventType;
  outcome: AuditEvent['outcome'];
  userId?: string | null;
  actorId?: string | null;
  client?: ClientInfo | null;
  /** Non-secret facts only; values are stored as JSON, so user text cannot forge structure. */
  detail?: Record<string, string | number | boolean | null>;
}

@Injectable()
export class AuditService {
  private readonly logger = new Logger('Audit');

  constructor(
    @InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>,
    private readonly clock: Clock,
  ) {}

  /** Writes the event; inside `tx` it commits (or rolls back) with the operation it records. */
  async record(record: AuditRecord, tx?: EntityManager): Promise<void> {
    const json = record.detail ? JSON.stringify(record.detail) : null;
    // Cutting JSON would make it unreadable: an oversized detail is replaced, not truncated.
    const detail = json && json.length > 1000 ? JSON.stringify({ truncated: true }) : json;
    await (tx ?? this.events.manager).insert(AuditEvent, {
      id: randomUUID(),
      type: record.type,
      outcome: record.outcome,
      userId: record.userId ?? null,
      actorId: record.actorId ?? null,
      ip: record.client?.ip ?? null,
      userAgent: record.client?.userAgent ?? null,
      detail,
      createdAt: new Date(this.clock.now()),
    });
    this.logger.log(JSON.stringify({ audit: record.type, outcome: record.outcome, userId: record.userId ?? null, requestId: record.client?.requestId }));
  }

  /** A page of events, newest first, as their views. */
  async list(query: { userId?: string; type?: string; page: number; pageSize: number }): Promise<{ items: AuditEventDto[]; total: number }> {
    const where = { ...(query.userId ? { userId: query.userId } : {}), ...(query.type ? { type: query.type } : {}) };
    const [items, total] = await this.events.findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
    return { items: items.map(toAuditEventView), total };
  }

  /** Deletes events recorded before `before`, oldest first, `batchSize` rows per statement; returns how many. */
  purgeOlderThan(before: Date, batchSize: number): Promise<number> {
    return deleteInBatches(this.events, 'id', batchSize, async (limit) =>
      (await this.events.find({ select: { id: true }, where: { createdAt: LessThan(before) }, order: { createdAt: 'ASC' }, take: limit })).map(({ id }) => id),
    );
  }
}
