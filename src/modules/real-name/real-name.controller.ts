import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { Auth, CurrentUser } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { RealNameRecordDto, SubmitRealNameDto } from './dto/real-name.dto';
import { RealNameErrors } from './real-name.errors';
import { RealNameService } from './real-name.service';

@ApiTags('Users')
@Controller('users/me/real-name')
export class RealNameController {
  constructor(private readonly realName: RealNameService) {}

  @Auth()
  @Post()
  @SuccessMessage('realNameSubmitted')
  @ApiOperation({
    operationId: 'submitRealName',
    summary: 'Submit your real name and ID card number',
    description:
      'The number must be an 18-character PRC resident ID with a valid region code, birth date and check character. Both values are stored encrypted (AES-256-GCM); the answer shows them masked. With the default provider (`local`, format and checksum only) the record is `verified` at once; with an HTTP provider it can be `verified`, `rejected` or `pending`, and a provider that does not answer gives 502 with nothing stored. A verified record cannot be changed; a pending or rejected one can be resubmitted. An ID number binds to one account only. Each account may submit 5 times a day (REAL_NAME_PER_ACCOUNT_PER_DAY) and each ID number may be submitted 3 times a day over all accounts (REAL_NAME_PER_ID_NUMBER_PER_DAY); every valid submission counts, those answered 409 included, and past either limit the answer is 429 with Retry-After and the identity provider is not asked. Every submission and refusal is audited.',
  })
  @ApiEnvelope(RealNameRecordDto, { status: 201, description: 'The record, masked' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    RealNameErrors.REAL_NAME_INVALID,
    RealNameErrors.ID_CARD_INVALID,
    RealNameErrors.ID_CARD_ALREADY_BOUND,
    RealNameErrors.REAL_NAME_ALREADY_VERIFIED,
    RealNameErrors.REAL_NAME_PROVIDER_UNAVAILABLE,
    CommonErrors.TOO_MANY_REQUESTS,
  )
  submit(@CurrentUser() principal: Principal, @Body() dto: SubmitRealNameDto, @Client() client: ClientInfo): Promise<RealNameRecordDto> {
    return this.realName.submit(principal, dto, client);
  }

  @Auth()
  @Get()
  @ApiOperation({
    operationId: 'getRealName',
    summary: 'Your real-name record (masked)',
    description:
      'A sensitive read: it needs a sign-in from the last hour (RECENT_AUTH_SECONDS; sign in again with your password otherwise), and every read is audited. Values are masked (张*, 110***********002X); the full number is never returned.',
  })
  @ApiEnvelope(RealNameRecordDto, { description: 'The record, masked' })
  @ApiErrors(AuthErrors.RECENT_AUTH_REQUIRED, RealNameErrors.REAL_NAME_NOT_SUBMITTED)
  read(@CurrentUser() principal: Principal, @Client() client: ClientInfo): Promise<RealNameRecordDto> {
    return this.realName.read(principal, client);
  }
}
