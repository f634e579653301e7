import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { REAL_NAME_STATUSES, RealNameStatus } from '../real-name-record.entity';

export class SubmitRealNameDto {
  @ApiProperty({
    description: 'Name as on the ID card: 2-30 Chinese characters (parts of a transliterated name joined by "·") or Latin letters with spaces or dots',
    example: '张三',
    maxLength: 64,
  })
  @IsString()
  @MaxLength(64)
  realName: string;

  @ApiProperty({
    description: '18-character PRC resident ID number: region code, birth date and GB 11643 check character (0-9 or X, any case)',
    example: '11010519491231002X',
    maxLength: 32,
  })
  @IsString()
  @MaxLength(32)
  idCardNumber: string;
}

/** Masked values only: the full name and number never leave the service. */
export class RealNameRecordDto {
  @ApiProperty({
    description: 'verified: the check passed (realNameVerified on the user is true); pending: the provider has not decided yet; rejected: the provider said the name and number do not match. Pending and rejected records can be resubmitted; verified ones cannot.',
    enum: REAL_NAME_STATUSES,
    example: 'verified',
  })
  status: RealNameStatus;

  @ApiProperty({ description: 'The name, masked: the first character, then one * for each other character', example: '张*' })
  realName: string;

  @ApiProperty({ description: 'The ID number, masked: the first 3 and last 4 characters', example: '110***********002X' })
  idCardNumber: string;

  @ApiProperty({ description: 'When the check passed (ISO 8601 UTC); null unless verified', example: '2026-01-01T08:00:00.000Z', nullable: true, type: String })
  verifiedAt: string | null;
}
