import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AppException, CommonErrors } from '@/common/errors';
import { AcceptLanguage, Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { UsersErrors } from '@/modules/users/users.errors';
import { AccountService } from './account.service';
import { CodeTicketDto } from './dto/codes.dto';
import { AccountErrors } from '@/modules/account/account.errors';
import { ApiKeysService } from '@/modules/account/api-keys.service';
import { ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto, toApiKeyView } from '@/modules/account/dto/api-keys.dto';
import { Auth, CurrentUser } from './decorators';
import { VerifyEmailDto, ChangeEmailDto, ChangePasswordDto, ChangePhoneDto, DeleteAccountDto } from './dto/account.dto';
import { AuthErrors } from './auth.errors';
import { pickLanguage } from '@/common/i18n';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { UsersService } from '@/modules/users/users.service';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { Principal } from './principal';

/** A key id that is not even a UUID names no key: 404, like another account's. */
const keyIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(AccountErrors.API_KEY_NOT_FOUND) });

@ApiTags('Users')
@Controller('users/me')
export class AccountController {
  constructor(
    private readonly account: AccountService,
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  @Auth()
  @Put('password')
  @HttpCode(200)
  @SuccessMessage('passwordChanged')
  @ApiOperation({ operationId: 'changePassword', summary: 'Change the password', description: 'Needs the current password. Every other session and the personal API key are revoked (this session stays signed in), pending codes die, and the owner is notified.' })
  @ApiEnvelope(null, { description: 'Changed' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    UsersErrors.PASSWORD_INCORRECT,
    UsersErrors.PASSWORD_UNCHANGED,
    UsersErrors.PASSWORD_TOO_SHORT,
    UsersErrors.PASSWORD_TOO_LONG,
    UsersErrors.PASSWORD_INVALID_CHARACTERS,
    UsersErrors.PASSWORD_TOO_COMMON,
    UsersErrors.PASSWORD_CONTAINS_IDENTITY,
  )
  async changePassword(@CurrentUser() principal: Principal, @Body() dto: ChangePasswordDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<void> {
    await this.account.changePassword(principal, dto.oldPassword, dto.newPassword, client, pickLanguage(language));
  }

  @Auth()
  @Put('email')
  @HttpCode(200)
  @SuccessMessage('updated')
  @ApiOperation({ operationId: 'changeEmail', summary: 'Change the email address', description: 'Needs a code sent to the NEW address with purpose change_email, and a sign-in within the last hour or the current `password`. The address becomes verified, and the OLD address receives a notice (a contact is never replaced silently).' })
  @ApiEnvelope(UserResponseDto, { description: 'The updated account' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, VerificationErrors.CODE_INVALID, VerificationErrors.CODE_EXPIRED, UsersErrors.PASSWORD_INCORRECT, AuthErrors.RECENT_AUTH_REQUIRED, UsersErrors.EMAIL_TAKEN)
  async changeEmail(@CurrentUser() principal: Principal, @Body() dto: ChangeEmailDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<UserResponseDto> {
    return this.users.toResponse(await this.account.changeEmail(principal, dto, client, pickLanguage(language)));
  }

  @Auth()
  @Post('email/verification-code')
  @HttpCode(202)
  @SuccessMessage('codeSent')
  @ApiOperation({
    operationId: 'sendEmailVerificationCode',
    summary: 'Send a code to verify your own email address',
    description:
      'For an account whose email is not verified yet (sign-up does not prove it unless REGISTRATION_EMAIL_CODE is on). The code (purpose verify_email) goes to the account\'s own address, never to one the caller names; same cooldown and caps as other codes. Until the email is verified no other sign-in method (phone, API keys, second factors, identities) can be added (403 EMAIL_NOT_VERIFIED). 409 EMAIL_VERIFICATION_NOT_NEEDED when the account has no unverified email.',
  })
  @ApiEnvelope(CodeTicketDto, { status: 202, description: 'The code is on its way' })
  @ApiErrors(AccountErrors.EMAIL_VERIFICATION_NOT_NEEDED, CommonErrors.TOO_MANY_REQUESTS, VerificationErrors.DELIVERY_FAILED)
  async sendEmailVerificationCode(@CurrentUser() principal: Principal, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<CodeTicketDto> {
    return this.account.sendEmailVerificationCode(principal, client, pickLanguage(language));
  }

  @Auth()
  @Post('email/verification')
  @HttpCode(200)
  @SuccessMessage('updated')
  @ApiOperation({
    operationId: 'verifyEmail',
    summary: 'Verify your own email address with its code',
    description:
      'Proves the address with the code from POST /users/me/email/verification-code. Proving an email that nobody had proven reclaims the account (as a reset by email code does): every other session, every API key, the phone number and any second factor or linked identity added before are removed — this session stays — and the address gets a notice (the removed phone too). Audited as email_verified and account_reclaimed.',
  })
  @ApiEnvelope(UserResponseDto, { description: 'The account, its email now verified' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, VerificationErrors.CODE_INVALID, VerificationErrors.CODE_EXPIRED, AccountErrors.EMAIL_VERIFICATION_NOT_NEEDED)
  async verifyEmail(@CurrentUser() principal: Principal, @Body() dto: VerifyEmailDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<UserResponseDto> {
    return this.users.toResponse(await this.account.verifyEmail(principal, dto.code, client, pickLanguage(language)));
  }

  @Auth()
  @Put('phone')
  @HttpCode(200)
  @SuccessMessage('updated')
  @ApiOperation({ operationId: 'changePhone', summary: 'Change the phone number', description: 'Needs a code sent to the NEW number with purpose change_phone, and a sign-in within the last hour or the current `password`. The OLD number receives a notice by SMS (a contact is never replaced silently). An account whose email is not verified cannot add a phone (403 EMAIL_NOT_VERIFIED): verify the email first.' })
  @ApiEnvelope(UserResponseDto, { description: 'The updated account' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, VerificationErrors.CODE_INVALID, VerificationErrors.CODE_EXPIRED, UsersErrors.PASSWORD_INCORRECT, AuthErrors.RECENT_AUTH_REQUIRED, UsersErrors.PHONE_TAKEN, AccountErrors.EMAIL_NOT_VERIFIED)
  async changePhone(@CurrentUser() principal: Principal, @Body() dto: ChangePhoneDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<UserResponseDto> {
    return this.users.toResponse(await this.account.changePhone(principal, dto, client, pickLanguage(language)));
  }

  @Auth()
  @Delete()
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'deleteMe', summary: 'Delete your account', description: 'Needs the current password (password-less phone accounts: `code`, an SMS code sent to the account phone with purpose login; accounts made by another identity provider, with neither: a sign-in within RECENT_AUTH_SECONDS). Personal data is removed, every session revoked, linked identities removed, and the username, email and phone become free.' })
  @ApiEnvelope(null, { description: 'Deleted' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, UsersErrors.PASSWORD_INCORRECT, CommonErrors.FORBIDDEN, AuthErrors.RECENT_AUTH_REQUIRED, VerificationErrors.CODE_INVALID, VerificationErrors.CODE_EXPIRED)
  async deleteMe(@CurrentUser() principal: Principal, @Body() dto: DeleteAccountDto, @Client() client: ClientInfo): Promise<void> {
    await this.account.deleteAccount(principal, dto, client);
  }

  @Auth()
  @Post('api-keys')
  @SuccessMessage('apiKeyCreated')
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create a personal API key',
    description:
      'Needs a sign-in within the last hour (⏱; a personal API key can never create one). The key is shown once; only its SHA-256 is stored. Send it as X-API-Key: it acts as you on GET /users/me (profile:read), PATCH /users/me and the avatar upload (profile:write), and nowhere else (403 API_KEY_SCOPE). At most API_KEYS_PER_USER (10) unexpired keys per account (409 API_KEY_LIMIT_REACHED), and at most that many in all: expired keys stay listed until a new key needs their room, the longest expired first. A password change or reset deletes every key. An account whose email is not verified cannot make keys (403 EMAIL_NOT_VERIFIED).',
  })
  @ApiEnvelope(CreatedApiKeyDto, { status: 201, description: 'The new key, with its secret shown this once' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, AuthErrors.RECENT_AUTH_REQUIRED, AccountErrors.API_KEY_LIMIT_REACHED, AccountErrors.EMAIL_NOT_VERIFIED)
  async createApiKey(@CurrentUser() principal: Principal, @Body() dto: CreateApiKeyDto, @Client() client: ClientInfo): Promise<CreatedApiKeyDto> {
    return this.account.createApiKey(principal, dto, client);
  }

  @Auth()
  @Get('api-keys')
  @SuccessMessage('ok')
  @ApiOperation({ operationId: 'listApiKeys', summary: 'List your personal API keys', description: 'Newest first, expired ones included; never the secret.' })
  @ApiEnvelope(ApiKeyListDto, { description: 'Your keys' })
  async listApiKeys(@CurrentUser() principal: Principal): Promise<ApiKeyListDto> {
    return { items: (await this.apiKeys.list(principal.userId)).map(toApiKeyView) };
  }

  @Auth()
  @Delete('api-keys/:id')
  @SuccessMessage('deleted')
  @ApiOperation({ operationId: 'deleteApiKey', summary: 'Delete one of your personal API keys', description: 'It stops working at once. Another account\'s key id answers 404 like a missing one.' })
  @ApiEnvelope(null, { description: 'Deleted' })
  @ApiErrors(AccountErrors.API_KEY_NOT_FOUND)
  async deleteApiKey(@CurrentUser() principal: Principal, @Param('id', keyIdPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    await this.account.deleteApiKey(principal, id, client);
  }

  @Auth()
  @Post('api-key')
  @SuccessMessage('apiKeyCreated')
  @ApiOperation({
    operationId: 'createDefaultApiKey',
    deprecated: true,
    summary: 'Create the "default" personal API key (deprecated: use POST /users/me/api-keys)',
    description:
      'Kept for one release. Creates a key named "default" with scopes profile:read and profile:write, expiring in 90 days, and deletes the previous key named "default". Same rules as POST /users/me/api-keys (⏱, the cap, shown once).',
  })
  @ApiEnvelope(CreatedApiKeyDto, { status: 201, description: 'The new key, with its secret shown this once' })
  @ApiErrors(AuthErrors.RECENT_AUTH_REQUIRED, AccountErrors.API_KEY_LIMIT_REACHED, AccountErrors.EMAIL_NOT_VERIFIED)
  async createDefaultApiKey(@CurrentUser() principal: Principal, @Client() client: ClientInfo): Promise<CreatedApiKeyDto> {
    return this.account.createDefaultApiKey(principal, client);
  }
}
