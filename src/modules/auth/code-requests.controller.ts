import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { AcceptLanguage, Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { pickLanguage } from '@/common/i18n';
import { emailKey, normalisePhone } from '@/modules/users/identity';
import { UsersService } from '@/modules/users/users.service';
import { HumanCheckErrors } from '@/modules/human-check/human-check.errors';
import { HumanCheckService } from '@/modules/human-check/human-check.service';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { CodePurpose } from '@/modules/verification/senders/message';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { UsersErrors } from '@/modules/users/users.errors';
import { AuthErrors } from './auth.errors';
import { Public } from './decorators';
import { CodeTicketDto, SendEmailCodeDto, SendSmsCodeDto } from './dto/codes.dto';

const CODE_ERRORS = [
  CommonErrors.VALIDATION_FAILED,
  HumanCheckErrors.CAPTCHA_REQUIRED,
  HumanCheckErrors.CAPTCHA_INVALID,
  CommonErrors.TOO_MANY_REQUESTS,
  UsersErrors.REGISTRATION_DISABLED,
  AuthErrors.PASSWORD_RESET_DISABLED,
];

/** What every code request answers, in the OpenAPI document: the same for every address, before delivery. */
const ANSWERED_BEFORE_DELIVERY =
  'The answer is the same whether or not the destination has an account, and it comes before any delivery, for every purpose (so neither body nor timing reveals an account): reset and sign-in codes only reach existing accounts, sign-up and change codes only free destinations. A delivery that fails after the 202 is logged and dropped (request a new code after the cooldown); it is never answered with 502 and keeps the cooldown and the caps. A switched-off feature sends nothing: `register` answers 403 `REGISTRATION_DISABLED` when registration is off, `reset_password` 403 `PASSWORD_RESET_DISABLED` when password reset is off (before the captcha is checked, so it is not spent).';

/**
 * The routes that send codes. They live beside sign-in because whether a code is delivered depends
 * on accounts: a reset code only reaches an existing account, a sign-up or change code only a free
 * address — yet every answer is the same, so nobody learns which addresses have accounts.
 */
@ApiTags('Verification')
@Controller('verification')
export class CodeRequestsController {
  constructor(
    private readonly codes: VerificationCodesService,
    private readonly humanCheck: HumanCheckService,
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Post('sms-codes')
  @HttpCode(202)
  @SuccessMessage('codeSent')
  @ApiOperation({
    operationId: 'sendSmsCode',
    summary: 'Send a 6-digit code by SMS',
    description:
      `Needs a passed human check (HUMAN_CHECK: image captcha, proof of work or provider token). The code is valid for 10 minutes, single-use, and dies after 5 wrong tries. One request per number and purpose per 60 s; at most 10 per number and 100 per client IP per day (20 per IP per hour). ${ANSWERED_BEFORE_DELIVERY}`,
  })
  @ApiEnvelope(CodeTicketDto, { status: 202, description: 'Accepted, before delivery: the code is on its way (when the number may receive it)' })
  @ApiErrors(...CODE_ERRORS, VerificationErrors.PHONE_NOT_ALLOWED)
  async sendSms(@Body() dto: SendSmsCodeDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<CodeTicketDto> {
    const phone = normalisePhone(dto.phone);
    if (!phone) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] });
    this.assertFeatureOn(dto.purpose);
    await this.humanCheck.require(dto, client);
    const owner = await this.users.findByPhone(phone);
    return this.codes.send({ channel: 'sms', destination: phone, purpose: dto.purpose, ip: client.ip, language: pickLanguage(language), deliver: this.shouldDeliver(dto.purpose, !!owner) });
  }

  @Public()
  @Post('email-codes')
  @HttpCode(202)
  @SuccessMessage('codeSent')
  @ApiOperation({
    operationId: 'sendEmailCode',
    summary: 'Send a 6-digit code by email',
    description: `Same rules as SMS codes. ${ANSWERED_BEFORE_DELIVERY}`,
  })
  @ApiEnvelope(CodeTicketDto, { status: 202, description: 'Accepted, before delivery: the code is on its way (when the address may receive it)' })
  @ApiErrors(...CODE_ERRORS)
  async sendEmail(@Body() dto: SendEmailCodeDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<CodeTicketDto> {
    this.assertFeatureOn(dto.purpose);
    await this.humanCheck.require(dto, client);
    const email = emailKey(dto.email);
    const owner = await this.users.findByEmail(email);
    return this.codes.send({ channel: 'email', destination: email, purpose: dto.purpose, ip: client.ip, language: pickLanguage(language), deliver: this.shouldDeliver(dto.purpose, !!owner) });
  }

  /** A switched-off feature sends nothing: its codes are refused here, as its own route refuses them. */
  private assertFeatureOn(purpose: CodePurpose): void {
    if (purpose === 'register' && !this.config.registration.enabled) throw new AppException(UsersErrors.REGISTRATION_DISABLED);
    if (purpose === 'reset_password' && !this.config.passwordResetEnabled) throw new AppException(AuthErrors.PASSWORD_RESET_DISABLED);
  }

  private shouldDeliver(purpose: CodePurpose, hasAccount: boolean): boolean {
    return purpose === 'reset_password' || purpose === 'login' ? hasAccount : !hasAccount;
  }
}
