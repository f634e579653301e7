import { ApiProperty } from '@nestjs/swagger';
import { AuditEvent } from '../audit-event.entity';

export class AuditEventDto {
  @ApiProperty({ description: 'Event id', example: '3c5d7e9f-1a2b-4c3d-8e5f-6a7b8c9d0e1f' })
  id: string;

  @ApiProperty({ description: 'What happened', example: 'sign_in' })
  type: string;

  @ApiProperty({ description: 'How it ended', enum: ['success', 'failure', 'denied'], example: 'failure' })
  outcome: AuditEvent['outcome'];

  @ApiProperty({ description: 'The account the event is about (null when a sign-in named no existing account)', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11', nullable: true, type: String })
  userId: string | null;

  @ApiProperty({ description: 'Who did it: the user, an admin, or null for anonymous callers and start-up', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11', nullable: true, type: String })
  actorId: string | null;

  @ApiProperty({ description: 'Client IP', example: '203.0.113.7', nullable: true, type: String })
  ip: string | null;

  @ApiProperty({ description: 'Client user agent', example: 'Mozilla/5.0', nullable: true, type: String })
  userAgent: string | null;

  @ApiProperty({
    description: 'Non-secret facts about the event (never a password, code, token or ID number)',
    example: { reason: 'wrong_password' },
    nullable: true,
    type: 'object',
    additionalProperties: true,
  })
  detail: Record<string, unknown> | null;

  @ApiProperty({ description: 'When it happened (ISO 8601 UTC)', example: '2026-01-01T08:00:00.000Z' })
  createdAt: string;
}

function parseDetail(detail: string | null): Record<string, unknown> | null {
  if (!detail) return null;
  try {
    const parsed: unknown = JSON.parse(detail);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function toAuditEventView(event: AuditEvent): AuditEventDto {
  return {
    id: event.id,
    type: event.type,
    outcome: event.outcome,
    userId: event.userId,
    actorId: event.actorId,
    ip: event.ip,
    userAgent: event.userAgent,
    detail: parseDetail(event.detail),
    createdAt: new Date(event.createdAt).toISOString(),
  };
}
