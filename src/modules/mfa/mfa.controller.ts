import { Body, Controller, createParamDecorator, Delete, ExecutionContext, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Language, pickLanguage } from '@/common/i18n';
import { AccountErrors } from '@/modules/account/account.errors';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { Auth, CurrentUser, Public, RecentAuth } from '@/modules/auth/decorators';
import { TokenPairDto } from '@/modules/auth/dto/auth.dto';
import type { Principal } from '@/modules/auth/principal';
import { UsersErrors } from '@/modules/users/users.errors';
import { UsersService } from '@/modules/users/users.service';
import { MfaStatusDto, MfaVerifyDto, ReauthenticateDto, RecoveryCodesDto, TotpCodeDto, TotpEnrolmentDto } from './dto/mfa.dto';
import { MfaErrors } from './mfa.errors';
import { MfaService } from './mfa.service';
import { StepUpService } from './step-up.service';

/** The notice language, from Accept-Language (read here so the document does not list the header as a parameter). */
const RequestLanguage = createParamDecorator((_: unknown, ctx: ExecutionContext): Language => pickLanguage(ctx.switchToHttp().getRequest<FastifyRequest>().headers['accept-language']));

const userIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(UsersErrors.USER_NOT_FOUND) });

@ApiTags('Users')
@Controller('users/me/mfa')
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly users: UsersService,
  ) {}

  @Auth()
  @Get()
  @ApiOperation({ operationId: 'getMfa', summary: 'Your second factors', description: 'TOTP, passkeys, how many recovery codes are left, and whether your role requires a second factor (MFA_REQUIRED_ROLES).' })
  @ApiEnvelope(MfaStatusDto, { description: 'The MFA state' })
  async status(@CurrentUser() principal: Principal): Promise<MfaStatusDto> {
    return this.mfa.status(await this.users.getById(principal.userId));
  }

  @Auth()
  @RecentAuth()
  @Post('totp')
  @HttpCode(200)
  @ApiOperation({ operationId: 'startTotp', summary: 'Start setting up an authenticator app (⏱)', description: 'A new secret, its otpauth:// URL and a QR code (SVG). Pending until confirmed with a first code within 10 minutes; calling again replaces a pending secret.' })
  @ApiEnvelope(TotpEnrolmentDto, { description: 'The pending secret' })
  @ApiErrors(MfaErrors.MFA_ALREADY_ENABLED, AccountErrors.EMAIL_NOT_VERIFIED)
  async startTotp(@CurrentUser() principal: Principal): Promise<TotpEnrolmentDto> {
    return this.mfa.startTotp(await this.users.getById(principal.userId));
  }

  @Auth()
  @Post('totp/confirm')
  @HttpCode(200)
  @ApiOperation({ operationId: 'confirmTotp', summary: 'Confirm the authenticator app with a first code', description: 'When this is the first factor of the account, the answer carries 10 single-use recovery codes, shown only now. Every later sign-in asks for a second factor.' })
  @ApiEnvelope(RecoveryCodesDto, { description: 'Enabled' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.MFA_INVALID, MfaErrors.MFA_NOT_ENROLLED, MfaErrors.MFA_ALREADY_ENABLED)
  async confirmTotp(@CurrentUser() principal: Principal, @Body() dto: TotpCodeDto, @Client() client: ClientInfo, @RequestLanguage() language: Language): Promise<RecoveryCodesDto> {
    const user = await this.users.getById(principal.userId);
    const recoveryCodes = await this.mfa.confirmTotp(user, dto.code, principal.sessionId, client, language);
    return recoveryCodes ? { recoveryCodes } : {};
  }

  @Auth()
  @RecentAuth()
  @Delete('totp')
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'removeTotp', summary: 'Remove the authenticator app (⏱)', description: 'With no second factor left, the recovery codes go too. The owner is notified.' })
  @ApiEnvelope(null, { description: 'Removed' })
  @ApiErrors(MfaErrors.MFA_NOT_ENROLLED)
  async removeTotp(@CurrentUser() principal: Principal, @Client() client: ClientInfo, @RequestLanguage() language: Language): Promise<void> {
    await this.mfa.removeTotp(await this.users.getById(principal.userId), client, language);
  }

  @Auth()
  @RecentAuth()
  @Post('recovery-codes')
  @HttpCode(200)
  @ApiOperation({ operationId: 'regenerateRecoveryCodes', summary: 'Replace the recovery codes (⏱)', description: 'Ten new single-use codes, shown only now; the old set stops working.' })
  @ApiEnvelope(RecoveryCodesDto, { description: 'The new codes' })
  @ApiErrors(MfaErrors.MFA_NOT_ENROLLED)
  async regenerate(@CurrentUser() principal: Principal, @Client() client: ClientInfo): Promise<RecoveryCodesDto> {
    return { recoveryCodes: await this.mfa.regenerateRecoveryCodes(await this.users.getById(principal.userId), client) };
  }
}

@ApiTags('Auth')
@Controller('auth')
export class StepUpController {
  constructor(private readonly stepUp: StepUpService) {}

  @Public()
  @Post('mfa/verify')
  @HttpCode(200)
  @SuccessMessage('signedIn')
  @ApiOperation({ operationId: 'verifyMfa', summary: 'Finish a sign-in with a second factor', description: 'Answers the MFA challenge of a first factor: method totp or recovery_code with `code`, or method passkey with `response` (the answer to the options of POST /auth/mfa/passkey-options). Each answer is counted before it is checked: the 5th wrong answer spends the mfaToken, and wrong answers count towards the account lock (429). A TOTP code is accepted once; a recovery code is spent; a passkey challenge is single-use and its signature counter must move forward (400 PASSKEY_INVALID otherwise).' })
  @ApiEnvelope(TokenPairDto, { description: 'Signed in: a token pair' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.MFA_INVALID, MfaErrors.PASSKEY_INVALID, MfaErrors.MFA_TOKEN_INVALID, CommonErrors.TOO_MANY_REQUESTS)
  verify(@Body() dto: MfaVerifyDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.stepUp.verify(dto, client);
  }

  @Auth()
  @Post('reauthenticate')
  @HttpCode(200)
  @ApiOperation({ operationId: 'reauthenticate', summary: 'Step up: authenticate again inside this session', description: 'With `password`, or `method` + `code` (a second factor), or method passkey + `response` (the answer to the options of POST /auth/reauthenticate/passkey-options; a user-verified passkey gives amr hwk + mfa). Answers a new token pair for the same session with a fresh auth_time and amr; its earlier refresh tokens are spent. ⏱ routes need this within RECENT_AUTH_SECONDS, and with a second factor when the account has one.' })
  @ApiEnvelope(TokenPairDto, { description: 'A fresh token pair' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, UsersErrors.PASSWORD_INCORRECT, MfaErrors.MFA_INVALID, MfaErrors.PASSKEY_INVALID, MfaErrors.MFA_NOT_ENROLLED, AuthErrors.SESSION_REQUIRED, CommonErrors.TOO_MANY_REQUESTS)
  reauthenticate(@CurrentUser() principal: Principal, @Body() dto: ReauthenticateDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.stepUp.reauthenticate(principal, dto, client);
  }
}

@ApiTags('Admin')
@Auth({ roles: ['admin'] })
@Controller('admin')
export class MfaAdminController {
  constructor(private readonly mfa: MfaService) {}

  @Delete('users/:id/mfa')
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'adminResetMfa', summary: "Reset an account's second factors", description: 'Every factor (authenticator app, passkeys) and recovery code is removed, every session revoked, and the owner notified (email, else SMS). Audited as mfa_reset.' })
  @ApiParam({ name: 'id', description: 'Account id', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  @ApiEnvelope(null, { description: 'Reset' })
  @ApiErrors(UsersErrors.USER_NOT_FOUND)
  async reset(@CurrentUser() principal: Principal, @Param('id', userIdPipe) id: string, @Client() client: ClientInfo, @RequestLanguage() language: Language): Promise<void> {
    await this.mfa.adminReset(id, principal.userId, client, language);
  }
}
