import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, Matches } from 'class-validator';

const WITH_TIME_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const FORMAT = { message: 'before must be an ISO 8601 time with a time zone, e.g. 2026-12-02T08:00:00Z' };

export class RevokeAllSessionsDto {
  @ApiPropertyOptional({
    description:
      'Every session (of every user) that started before this time is signed out: its access and refresh tokens stop working at once, on every instance. ' +
      'ISO 8601 with a time zone; default now (the server\'s clock). A time in the future is refused (400 REVOKE_BEFORE_IN_FUTURE). ' +
      'The caller\'s own session is included when it started before this time.',
    example: '2026-12-02T08:00:00.000Z',
    format: 'date-time',
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true }, FORMAT)
  // Without a zone the time would be read in the server's zone: say which instant is meant.
  @Matches(WITH_TIME_ZONE, FORMAT)
  before?: string;
}

export class RevokeAllSessionsResultDto {
  @ApiProperty({
    description:
      'The cut-off in force now: sessions started before it are refused. A second call with an earlier time never weakens an earlier, later cut-off, so this may be later than the time asked for.',
    example: '2026-12-02T08:00:00.000Z',
    format: 'date-time',
  })
  before: string;

  @ApiProperty({ description: 'Until when the cut-off is kept: by then every session it covers has expired (its start + REFRESH_TOKEN_TTL + ACCESS_TOKEN_TTL).', example: '2027-01-01T08:16:00.000Z', format: 'date-time' })
  keptUntil: string;
}
