import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException, CommonErrors } from '@/common/errors';
import { AcceptLanguage, Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiEnvelopeOneOf, ApiErrors } from '@/common/http/openapi';
import { HumanCheckErrors } from '@/modules/human-check/human-check.errors';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { AuthErrors } from './auth.errors';
import { AuthService } from './auth.service';
import { AccountService } from './account.service';
import { PasswordResetDto } from './dto/account.dto';
import { pickLanguage } from '@/common/i18n';
import { UsersErrors } from '@/modules/users/users.errors';
import { Auth, CurrentUser, Internal, Public } from './decorators';
import { LoginDto, RefreshDto, SIGN_IN_RESULT_DESCRIPTION, SIGN_IN_RESULTS, SignInResult, SmsLoginDto, SessionListDto, TokenPairDto } from './dto/auth.dto';
import { IntrospectDto, IntrospectionDto } from './dto/introspect.dto';
import { Principal } from './principal';
import { RefreshCookie } from './refresh-cookie';
import { JwtStrategy } from './jwt.strategy';

const sessionIdPipe = new ParseUUIDPipe({ exceptionFactory: () => new AppException(AuthErrors.SESSION_NOT_FOUND) });

@ApiTags('Auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly account: AccountService,
    private readonly cookie: RefreshCookie,
    private readonly bearer: JwtStrategy,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @SuccessMessage('signedIn')
  @ApiOperation({ operationId: 'login', summary: 'Sign in with a password', description: 'The identifier is a username, email or phone. Every attempt is counted before the password is compared, so parallel attempts are judged as if sent one by one. Counters are kept per identifier as typed (case and width variants are one identifier; known and unknown identifiers alike): after 3 failures on an identifier a captcha is required, after 10 that identifier is locked for 15 minutes (429 + Retry-After). The account also has its own bound — 10 failures over all its identifiers and current-password checks lock it for 15 minutes, and at most 100 failures an hour — but at sign-in that bound answers exactly as a wrong password does (401 INVALID_CREDENTIALS, even for the right password), so no identifier reveals what was tried through another. A password reset lifts every lock of the account.' })
  @ApiEnvelopeOneOf(SIGN_IN_RESULTS, 'mfaRequired', { description: SIGN_IN_RESULT_DESCRIPTION })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, HumanCheckErrors.CAPTCHA_REQUIRED, HumanCheckErrors.CAPTCHA_INVALID, AuthErrors.INVALID_CREDENTIALS, CommonErrors.TOO_MANY_REQUESTS)
  login(@Body() dto: LoginDto, @Client() client: ClientInfo): Promise<SignInResult> {
    return this.auth.login(dto, client);
  }

  @Public()
  @Post('login/sms')
  @HttpCode(200)
  @SuccessMessage('signedIn')
  @ApiOperation({ operationId: 'loginBySms', summary: 'Sign in with an SMS code', description: 'The code comes from POST /verification/sms-codes with purpose login; it only reaches numbers that have an account. At most 5 tries per code, counted before the code is compared; every failure is audited.' })
  @ApiEnvelopeOneOf(SIGN_IN_RESULTS, 'mfaRequired', { description: SIGN_IN_RESULT_DESCRIPTION })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, VerificationErrors.CODE_INVALID, VerificationErrors.CODE_EXPIRED, AuthErrors.INVALID_CREDENTIALS)
  loginBySms(@Body() dto: SmsLoginDto, @Client() client: ClientInfo): Promise<SignInResult> {
    return this.auth.loginBySms(dto.phone, dto.smsCode, client);
  }

  @Public()
  @Post('password-reset')
  @HttpCode(200)
  @SuccessMessage('passwordReset')
  @ApiOperation({ operationId: 'resetPassword', summary: 'Set a new password with a reset code', description: 'The code comes from POST /verification/email-codes or /sms-codes with purpose reset_password. Every session of the account and its personal API key are revoked, pending codes die, a lock is lifted, and the owner is notified.' })
  @ApiEnvelope(null, { description: 'Password reset' })
  @ApiErrors(
    CommonErrors.VALIDATION_FAILED,
    VerificationErrors.CODE_INVALID,
    VerificationErrors.CODE_EXPIRED,
    AuthErrors.PASSWORD_RESET_DISABLED,
    UsersErrors.PASSWORD_TOO_SHORT,
    UsersErrors.PASSWORD_TOO_LONG,
    UsersErrors.PASSWORD_INVALID_CHARACTERS,
    UsersErrors.PASSWORD_TOO_COMMON,
    UsersErrors.PASSWORD_CONTAINS_IDENTITY,
  )
  async resetPassword(@Body() dto: PasswordResetDto, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<void> {
    await this.account.resetPassword(dto, client, pickLanguage(language));
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  @SuccessMessage('refreshed')
  @ApiOperation({
    operationId: 'refreshTokens',
    summary: 'Exchange a refresh token for a new pair',
    description:
      'The refresh token is spent. Presenting a spent token again revokes its whole session (of parallel refreshes with one token, one wins and the session is then revoked as a replay). ' +
      'A session keeps its newest SPENT_REFRESH_TOKENS_KEPT (100) spent tokens for that; an older one is refused as unknown (401) and the session lives on. ' +
      'With REFRESH_TOKEN_COOKIE=true the token is read from the `__Secure-uc_refresh` cookie; such a request must come from an origin in CORS_ORIGINS and send `X-Requested-With: XMLHttpRequest` (403 `COOKIE_ORIGIN_NOT_ALLOWED` / `COOKIE_REQUESTED_WITH_REQUIRED`). ' +
      'The answer sets the successor as the cookie and leaves `refreshToken` out of the JSON; a refused cookie is cleared (Max-Age=0). ' +
      'A `refreshToken` in the body still works when the request carries no cookie (a session opened before the setting was turned on, or a client that is not a browser); its answer moves the session into the cookie too. ' +
      'Without the cookie and the body field: 401 `REFRESH_TOKEN_INVALID` in cookie mode, 400 `VALIDATION_FAILED` otherwise.',
  })
  @ApiSecurity({})
  @ApiSecurity('refresh-cookie')
  @ApiBody({ type: RefreshDto, required: false, description: 'Optional in cookie mode, where the cookie carries the token' })
  @ApiEnvelope(TokenPairDto, { description: 'A new token pair (without `refreshToken` in cookie mode: it is in the Set-Cookie header)' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, AuthErrors.REFRESH_TOKEN_INVALID, AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED, AuthErrors.COOKIE_REQUESTED_WITH_REQUIRED)
  async refresh(@Body() dto: RefreshDto, @Client() client: ClientInfo, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<TokenPairDto> {
    const fromCookie = this.cookie.take(request);
    const refreshToken = fromCookie ?? dto.refreshToken;
    if (refreshToken === undefined) {
      if (this.cookie.enabled) throw new AppException(AuthErrors.REFRESH_TOKEN_INVALID);
      throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'refreshToken', message: 'refreshToken must be a string' }] });
    }
    try {
      return await this.auth.refresh(refreshToken, client);
    } catch (error) {
      // A spent, revoked or unknown cookie is of no further use (and a replay just revoked its session).
      if (fromCookie !== undefined && error instanceof AppException && error.entry === AuthErrors.REFRESH_TOKEN_INVALID) this.cookie.clear(reply);
      throw error;
    }
  }

  @Auth()
  @Delete('session')
  @SuccessMessage('signedOut')
  @ApiOperation({
    operationId: 'logout',
    summary: 'Sign out this session',
    description:
      "This session's access and refresh tokens stop working at once. With REFRESH_TOKEN_COOKIE=true the answer also clears the `__Secure-uc_refresh` cookie (Max-Age=0); a request that carries the cookie must come from an origin in CORS_ORIGINS and send `X-Requested-With: XMLHttpRequest` (403 otherwise, and nothing is revoked). The cookie is the browser's, and a later sign-in in another tab may have replaced it with another session's: when that session is this account's, it ends too (nothing could use or end it once the cookie is gone); another account's session is left alone, though the cookie is cleared all the same. Each ended session is audited as sign_out and announced as session.revoked.",
  })
  @ApiSecurity({ bearer: [], 'refresh-cookie': [] })
  @ApiEnvelope(null, { description: 'Signed out' })
  @ApiErrors(AuthErrors.SESSION_REQUIRED, AuthErrors.COOKIE_ORIGIN_NOT_ALLOWED, AuthErrors.COOKIE_REQUESTED_WITH_REQUIRED)
  async logout(@CurrentUser() principal: Principal, @Client() client: ClientInfo, @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    // take() checks the Origin and X-Requested-With of a request that carries the cookie (403 before anything is revoked).
    await this.auth.logout(principal, client, this.cookie.take(request));
    if (principal.via === 'bearer') this.bearer.forget(request.headers.authorization);
    this.cookie.clear(reply);
  }

  @Auth()
  @Get('sessions')
  @ApiOperation({
    operationId: 'listSessions',
    summary: "List the caller's live sessions",
    description:
      'An account holds at most SESSIONS_PER_USER live sessions (100 by default). Every sign-in opens one (password, SMS code, second factor, passkey, another identity provider); one that would pass the cap signs out the session idle the longest (least recently refreshed, then the oldest) in the same step, however many sign-ins arrive at once: its tokens stop at once, it is audited as session_revoked and announced as session.revoked with reason session_limit.',
  })
  @ApiEnvelope(SessionListDto, { description: 'Live sessions' })
  async listSessions(@CurrentUser() principal: Principal): Promise<SessionListDto> {
    return { items: (await this.auth.listSessions(principal)).items };
  }

  @Auth()
  @Delete('sessions/:id')
  @SuccessMessage('sessionRevoked')
  @ApiOperation({ operationId: 'revokeSession', summary: 'Revoke one of your own sessions' })
  @ApiParam({ name: 'id', description: 'Session id', example: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d' })
  @ApiEnvelope(null, { description: 'Revoked' })
  @ApiErrors(AuthErrors.SESSION_NOT_FOUND)
  async revokeSession(@CurrentUser() principal: Principal, @Param('id', sessionIdPipe) id: string, @Client() client: ClientInfo): Promise<void> {
    await this.auth.revokeSession(principal, id, client);
  }

  @Internal('introspect')
  @Post('introspect')
  @HttpCode(200)
  @ApiOperation({ operationId: 'introspectToken', summary: 'Check an access token (internal services)', description: 'RFC 7662 shape. Needs a key from INTERNAL_API_KEYS with the scope introspect (a key listed without scopes has every scope) in X-API-Key. Revoked, expired or forged tokens, and tokens of disabled or deleted accounts, answer {active: false}; role is the account\'s current role.' })
  @ApiEnvelope(IntrospectionDto, { description: 'The token state' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, AuthErrors.API_KEY_INVALID)
  introspect(@Body() dto: IntrospectDto): Promise<IntrospectionDto> {
    return this.auth.introspect(dto.token);
  }
}
