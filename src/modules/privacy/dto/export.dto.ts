import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ApiKeyViewDto } from '@/modules/account/dto/api-keys.dto';
import { AuditEventDto } from '@/modules/audit/dto/audit-event.dto';
import { SessionDto } from '@/modules/auth/dto/auth.dto';
import { IdentityDto } from '@/modules/federation/dto/federation.dto';
import { MfaStatusDto } from '@/modules/mfa/dto/mfa.dto';
import { RealNameRecordDto } from '@/modules/real-name/dto/real-name.dto';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';

export const EXPORT_FORMAT = 'user-centre-export';
export const EXPORT_VERSION = 1;

export class ExportContactsDto {
  @ApiProperty({ description: 'Email address', example: 'alice@example.com', nullable: true, type: String }) email: string | null;
  @ApiProperty({ description: 'Whether the email was proven with a code', example: true }) emailVerified: boolean;
  @ApiProperty({ description: 'Phone number in E.164', example: '+8613800138000', nullable: true, type: String }) phone: string | null;
}

export class ExportSessionsDto {
  @ApiProperty({ type: [SessionDto], description: 'Live sessions, newest first, at most EXPORT_MAX_ITEMS (never a token)' }) items: SessionDto[];
  @ApiProperty({ description: 'How many live sessions there are in all', example: 2 }) total: number;
  @ApiProperty({ description: 'Whether items stops short of total', example: false }) truncated: boolean;
}

export class ExportAuditEventsDto {
  @ApiProperty({ type: [AuditEventDto], description: 'Audit events about the account, newest first, at most EXPORT_MAX_ITEMS' }) items: AuditEventDto[];
  @ApiProperty({ description: 'How many events about the account are kept in all (AUDIT_RETENTION_DAYS)', example: 12 }) total: number;
  @ApiProperty({ description: 'Whether items stops short of total (ask an admin for the rest)', example: false }) truncated: boolean;
}

/** GET /users/me/export: the file itself (no envelope). Every section is built from its module's owner view, so no secret column can reach it. */
export class ExportDocumentDto {
  @ApiProperty({ description: 'What this file is', enum: [EXPORT_FORMAT], example: EXPORT_FORMAT }) format: typeof EXPORT_FORMAT;
  @ApiProperty({ description: 'Version of this layout; a new section raises it only when an existing one changes meaning', example: EXPORT_VERSION }) version: number;
  @ApiProperty({ description: 'When it was made (ISO 8601 UTC)', example: '2026-12-07T08:00:00.000Z' }) exportedAt: string;
  @ApiProperty({ type: UserResponseDto, description: 'The account, as GET /users/me shows it' }) profile: UserResponseDto;
  @ApiProperty({ type: ExportContactsDto, description: 'Email and phone' }) contacts: ExportContactsDto;
  @ApiProperty({ type: ExportSessionsDto, description: 'Live sessions' }) sessions: ExportSessionsDto;
  @ApiProperty({ type: [IdentityDto], description: 'Linked identity providers (provider, subject, email they reported, linkedAt)' }) identities: IdentityDto[];
  @ApiProperty({ type: MfaStatusDto, description: 'Second factors as GET /users/me/mfa shows them: whether TOTP is on, passkey names, unused recovery codes left — never a secret or a code' }) mfa: MfaStatusDto;
  @ApiPropertyOptional({ type: RealNameRecordDto, description: 'The real-name record, masked as GET /users/me/real-name masks it; absent when none was submitted' }) realName?: RealNameRecordDto;
  @ApiProperty({ type: [ApiKeyViewDto], description: 'Personal API keys: names, scopes and dates, never the secret' }) apiKeys: ApiKeyViewDto[];
  @ApiProperty({ type: ExportAuditEventsDto, description: 'Audit events about the account' }) auditEvents: ExportAuditEventsDto;
}
