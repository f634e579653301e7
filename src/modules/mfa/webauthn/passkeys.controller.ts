import { Body, Controller, createParamDecorator, Delete, ExecutionContext, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AppException, CommonErrors } from '@/common/errors';
import { Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Language, pickLanguage } from '@/common/i18n';
import { AccountErrors } from '@/modules/account/account.errors';
import { Auth, CurrentUser, Public, RecentAuth } from '@/modules/auth/decorators';
import { TokenPairDto } from '@/modules/auth/dto/auth.dto';
import type { Principal } from '@/modules/auth/principal';
import { FederationErrors } from '@/modules/federation/federation.errors';
import { UsersService } from '@/modules/users/users.service';
import { MfaErrors } from '../mfa.errors';
import { AddPasskeyDto, CreationOptionsDto, MfaPasskeyOptionsDto, NewPasskeyDto, PasskeyLoginDto, PasskeyLoginOptionsDto, PasskeySummaryDto, RenamePasskeyDto, RequestOptionsDto } from './dto/passkeys.dto';
import { PasskeysService } from './passkeys.service';

const RequestLanguage = createParamDecorator((_: unknown, ctx: ExecutionContext): Language => pickLanguage(ctx.switchToHttp().getRequest<FastifyRequest>().headers['accept-language']));

const passkeyIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(MfaErrors.PASSKEY_NOT_FOUND) });

const PASSKEY_ID = { name: 'id', description: 'Passkey id (from GET /users/me/mfa)', example: '3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b' };

@ApiTags('Users')
@Controller('users/me/passkeys')
export class PasskeysController {
  constructor(
    private readonly passkeys: PasskeysService,
    private readonly users: UsersService,
  ) {}

  @Auth()
  @RecentAuth()
  @Post('options')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'startPasskeyRegistration',
    summary: 'Start registering a passkey (⏱)',
    description:
      'WebAuthn creation options (JSON form, for PublicKeyCredential.parseCreationOptionsFromJSON or @simplewebauthn/browser): a discoverable credential (residentKey required) with user verification required, no attestation, the account\'s passkeys excluded. The challenge is single-use and lives 5 minutes; an account holds at most WEBAUTHN_PENDING_CHALLENGES (10) pending registration and step-up challenges, a newer one making the oldest unanswerable. Send the browser\'s answer to POST /users/me/passkeys. An account holds at most PASSKEYS_PER_USER passkeys (10 by default): at that number no challenge is issued (409 PASSKEY_LIMIT_REACHED); remove one first.',
  })
  @ApiEnvelope(CreationOptionsDto, { description: 'The creation options' })
  @ApiErrors(AccountErrors.EMAIL_NOT_VERIFIED, MfaErrors.PASSKEY_LIMIT_REACHED)
  async options(@CurrentUser() principal: Principal): Promise<CreationOptionsDto> {
    return this.passkeys.registrationOptions(await this.users.getById(principal.userId));
  }

  @Auth()
  @Post()
  @SuccessMessage('created')
  @ApiOperation({
    operationId: 'addPasskey',
    summary: 'Register a passkey',
    description:
      'Verifies the answer to the challenge of POST /users/me/passkeys/options (origin in WEBAUTHN_ORIGINS, RP ID, user verification) and stores the passkey. It is a second factor from now on (password sign-ins answer the MFA challenge) and signs in alone without a username (POST /auth/login/passkey). When it is the first second factor of the account, the answer carries 10 recovery codes, shown only now. The owner is notified. The PASSKEYS_PER_USER cap is counted again here, with the account row locked: of several options answered at once only as many as there is room for are stored, the others are 409 PASSKEY_LIMIT_REACHED.',
  })
  @ApiEnvelope(NewPasskeyDto, { status: 201, description: 'The new passkey' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.PASSKEY_INVALID, MfaErrors.MFA_ALREADY_ENABLED, MfaErrors.PASSKEY_LIMIT_REACHED, AccountErrors.EMAIL_NOT_VERIFIED)
  async add(@CurrentUser() principal: Principal, @Body() dto: AddPasskeyDto, @Client() client: ClientInfo, @RequestLanguage() language: Language): Promise<NewPasskeyDto> {
    return this.passkeys.register(await this.users.getById(principal.userId), dto, principal.sessionId, client, language);
  }

  @Auth()
  @Patch(':id')
  @SuccessMessage('updated')
  @ApiOperation({ operationId: 'renamePasskey', summary: 'Rename a passkey' })
  @ApiParam(PASSKEY_ID)
  @ApiEnvelope(PasskeySummaryDto, { description: 'The renamed passkey' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.PASSKEY_NOT_FOUND)
  async rename(@CurrentUser() principal: Principal, @Param('id', passkeyIdPipe) id: string, @Body() dto: RenamePasskeyDto): Promise<PasskeySummaryDto> {
    return this.passkeys.rename(await this.users.getById(principal.userId), id, dto.name);
  }

  @Auth()
  @RecentAuth()
  @Delete(':id')
  @SuccessMessage('deleted')
  @ApiOperation({
    operationId: 'removePasskey',
    summary: 'Remove a passkey (⏱)',
    description: 'With no passkey and no authenticator app left, the recovery codes go too. Refused (409 LAST_SIGN_IN_METHOD) when the account could then not sign in at all (no password, no phone, no linked identity). The owner is notified.',
  })
  @ApiParam(PASSKEY_ID)
  @ApiEnvelope(null, { description: 'Removed' })
  @ApiErrors(MfaErrors.PASSKEY_NOT_FOUND, FederationErrors.LAST_SIGN_IN_METHOD)
  async remove(@CurrentUser() principal: Principal, @Param('id', passkeyIdPipe) id: string, @Client() client: ClientInfo, @RequestLanguage() language: Language): Promise<void> {
    await this.passkeys.remove(await this.users.getById(principal.userId), id, client, language);
  }
}

@ApiTags('Auth')
@Controller('auth')
export class PasskeyAuthController {
  constructor(private readonly passkeys: PasskeysService) {}

  @Public()
  @Post('passkeys/options')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'startPasskeySignIn',
    summary: 'Start a sign-in with a passkey (no username)',
    description:
      'Request options with no allowCredentials, so the browser offers the passkeys it holds for this site, and a challengeId to send back with the answer to POST /auth/login/passkey. Single-use, 5 minutes; one client address holds at most WEBAUTHN_PENDING_CHALLENGES (10) pending, a newer one making the oldest unanswerable. Counts against the client address\'s sign-in budget (LOGIN_PER_IP_PER_MINUTE, 429).',
  })
  @ApiEnvelope(PasskeyLoginOptionsDto, { description: 'The challenge and its options' })
  @ApiErrors(CommonErrors.TOO_MANY_REQUESTS)
  loginOptions(@Client() client: ClientInfo): Promise<PasskeyLoginOptionsDto> {
    return this.passkeys.loginOptions(client);
  }

  @Public()
  @Post('login/passkey')
  @HttpCode(200)
  @SuccessMessage('signedIn')
  @ApiOperation({
    operationId: 'loginWithPasskey',
    summary: 'Sign in with a passkey',
    description:
      'The credential names the account. A user-verified passkey is two factors, so the answer is a token pair, never an MFA challenge; its access token carries amr ["hwk", "mfa"] (RFC 8176: proof of possession of a key, and more than one factor — the key and the user verification that unlocked it). The challenge is spent by this call, right or wrong. Disabled accounts are refused; a failure counts towards the account lock (429 while it holds) and the client address\'s sign-in budget.',
  })
  @ApiEnvelope(TokenPairDto, { description: 'Signed in: a token pair' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.PASSKEY_INVALID, CommonErrors.TOO_MANY_REQUESTS)
  login(@Body() dto: PasskeyLoginDto, @Client() client: ClientInfo): Promise<TokenPairDto> {
    return this.passkeys.login(dto.challengeId, dto.response, client);
  }

  @Public()
  @Post('mfa/passkey-options')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'startPasskeySecondFactor',
    summary: 'Request options for answering an MFA challenge with a passkey',
    description:
      "Options restricted to the account's passkeys, bound to this mfaToken; answer with POST /auth/mfa/verify (method passkey, response). Each challenge is single-use (a wrong answer spends it: ask again) and lives 5 minutes, and an mfaToken holds at most WEBAUTHN_PENDING_CHALLENGES (10) pending (a newer one makes the oldest unanswerable); asking does not use one of the mfaToken's 5 tries. Counts against the client address's sign-in budget.",
  })
  @ApiEnvelope(RequestOptionsDto, { description: 'The request options' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, MfaErrors.MFA_TOKEN_INVALID, MfaErrors.MFA_NOT_ENROLLED, CommonErrors.TOO_MANY_REQUESTS)
  mfaOptions(@Body() dto: MfaPasskeyOptionsDto, @Client() client: ClientInfo): Promise<RequestOptionsDto> {
    return this.passkeys.mfaOptions(dto.mfaToken, client);
  }

  @Auth()
  @Post('reauthenticate/passkey-options')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'startPasskeyReauthentication',
    summary: 'Request options for a step-up with a passkey',
    description: "Options restricted to the caller's passkeys, user verification required; answer with POST /auth/reauthenticate (method passkey, response). Single-use, 5 minutes.",
  })
  @ApiEnvelope(RequestOptionsDto, { description: 'The request options' })
  @ApiErrors(MfaErrors.MFA_NOT_ENROLLED)
  reauthOptions(@CurrentUser() principal: Principal): Promise<RequestOptionsDto> {
    return this.passkeys.reauthOptions(principal.userId);
  }
}
