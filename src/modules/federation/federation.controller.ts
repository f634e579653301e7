import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CommonErrors } from '@/common/errors';
import { AcceptLanguage, Client, ClientInfo, RawResponse, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiEnvelopeOneOf, ApiErrors } from '@/common/http/openapi';
import { pickLanguage } from '@/common/i18n';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { Public } from '@/modules/auth/decorators';
import { SIGN_IN_RESULT_DESCRIPTION, SIGN_IN_RESULTS, SignInResult } from '@/modules/auth/dto/auth.dto';
import { UsersErrors } from '@/modules/users/users.errors';
import { AuthorizationUrlDto, AuthorizationUrlRequestDto, ExchangeDto, ProviderListDto } from './dto/federation.dto';
import { FederationErrors } from './federation.errors';
import { FederationService } from './federation.service';

const providerParam = ApiParam({ name: 'provider', description: 'Provider id from GET /auth/providers', example: 'corp' });

/** Sign-in with other identity providers (contract §11): the SPA's side of the flow. */
@ApiTags('Auth')
@Controller('auth')
export class FederationController {
  constructor(private readonly federation: FederationService) {}

  @Public()
  @Get('providers')
  @ApiOperation({ operationId: 'listIdentityProviders', summary: 'The identity providers enabled for sign-in', description: 'For the sign-in page: one button per item.' })
  @ApiEnvelope(ProviderListDto, { description: 'Enabled providers' })
  listProviders(): ProviderListDto {
    return { items: this.federation.listProviders() };
  }

  @Public()
  @Post('oauth/:provider/url')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'createOAuthUrl',
    summary: "Start a sign-in with a provider: the URL to send the browser to",
    description:
      'The URL carries a fresh single-use `state`, an OpenID Connect `nonce` and a PKCE S256 challenge, bound to this provider and this `redirectUri`; the attempt lives 10 minutes. `redirectUri` must equal an entry of OAUTH_REDIRECT_URIS exactly. When the operator set REGISTRATION_KEY, an unknown identity may only create an account if `registrationKey` is given here.',
  })
  @providerParam
  @ApiEnvelope(AuthorizationUrlDto, { description: 'The provider URL' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, FederationErrors.REDIRECT_URI_NOT_ALLOWED, FederationErrors.OAUTH_PROVIDER_UNKNOWN, UsersErrors.REGISTRATION_DISABLED, UsersErrors.REGISTRATION_KEY_INVALID, FederationErrors.OAUTH_PROVIDER_ERROR)
  async createUrl(@Param('provider') provider: string, @Body() dto: AuthorizationUrlRequestDto): Promise<AuthorizationUrlDto> {
    return { url: await this.federation.startSignIn(provider, dto.redirectUri, dto.registrationKey) };
  }

  @Public()
  @Get('oauth/:provider/callback')
  @RawResponse()
  @ApiOperation({
    operationId: 'oauthCallback',
    summary: 'Where the provider sends the browser back (register this URL at the provider)',
    description:
      'Not for the SPA to call. The URL to register is `${PUBLIC_BASE_URL}/api/v1/auth/oauth/{provider}/callback`. With a known `state` it always answers 302 to the redirectUri of the attempt, with `?result=<one-time code>` (for POST /auth/oauth/exchange), `?linked=<provider>` (after POST /users/me/identities/{provider}/url) or `?error=<CODE>`: OAUTH_PROVIDER_ERROR, ACCOUNT_EXISTS_LINK_REQUIRED, IDENTITY_ALREADY_LINKED, REGISTRATION_DISABLED, REGISTRATION_KEY_INVALID, INVALID_CREDENTIALS (a disabled account), OAUTH_STATE_INVALID (the linking session ended). An unknown, used or expired `state` has no trusted place to go back to: it is a 400.',
  })
  @providerParam
  @ApiQuery({ name: 'code', required: false, description: 'Authorization code from the provider' })
  @ApiQuery({ name: 'state', required: false, description: 'The state from the URL this service made' })
  @ApiQuery({ name: 'error', required: false, description: "The provider's error (e.g. access_denied)" })
  @ApiResponse({ status: 302, description: 'Back to the redirectUri with result, linked or error (see above)' })
  @ApiErrors(FederationErrors.OAUTH_STATE_INVALID)
  async callback(
    @Param('provider') provider: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Client() client: ClientInfo,
    @AcceptLanguage() language?: string,
  ): Promise<void> {
    const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
    const location = await this.federation.callback(provider, (request.query ?? {}) as Record<string, unknown>, rawQuery, client, pickLanguage(language));
    await reply.status(302).header('Location', location).header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send();
  }

  @Public()
  @Post('oauth/exchange')
  @HttpCode(200)
  @SuccessMessage('signedIn')
  @ApiOperation({
    operationId: 'exchangeOAuthResult',
    summary: 'Trade the one-time result for a token pair',
    description: 'The `result` the callback put on redirectUri; single use, valid 60 seconds. Opens a session like any other sign-in (audited with method `federated`).',
  })
  @ApiEnvelopeOneOf(SIGN_IN_RESULTS, 'mfaRequired', { description: SIGN_IN_RESULT_DESCRIPTION })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, FederationErrors.OAUTH_STATE_INVALID, AuthErrors.INVALID_CREDENTIALS)
  exchange(@Body() dto: ExchangeDto, @Client() client: ClientInfo): Promise<SignInResult> {
    return this.federation.exchange(dto.result, client);
  }
}
