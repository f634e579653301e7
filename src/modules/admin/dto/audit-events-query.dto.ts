import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsUUID } from 'class-validator';
import { PageQueryDto } from '@/common/http/pagination';
import { AuditEventDto } from '@/modules/audit/dto/audit-event.dto';
import { AUDIT_EVENT_TYPES, AuditEventType } from '@/modules/audit/audit.service';

export class ListAuditEventsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Only events about this account', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  @IsOptional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ description: 'Only this event type', enum: AUDIT_EVENT_TYPES, example: 'sign_in' })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES)
  type?: AuditEventType;
}

export class AuditEventPageDto {
  @ApiProperty({ type: [AuditEventDto], description: 'Events, newest first' })
  items: AuditEventDto[];

  @ApiProperty({ description: 'This page number', example: 1 })
  page: number;

  @ApiProperty({ description: 'Items per page', example: 20 })
  pageSize: number;

  @ApiProperty({ description: 'Matching events over all pages', example: 42 })
  total: number;
}
