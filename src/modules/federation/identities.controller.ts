import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { AcceptLanguage, Client, ClientInfo, SuccessMessage } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { pickLanguage } from '@/common/i18n';
import { AccountErrors } from '@/modules/account/account.errors';
import { AuthErrors } from '@/modules/auth/auth.errors';
import { AuthService } from '@/modules/auth/auth.service';
import { Auth, CurrentUser } from '@/modules/auth/decorators';
import type { Principal } from '@/modules/auth/principal';
import { UsersService } from '@/modules/users/users.service';
import { AuthorizationUrlDto, IdentityListDto, LinkUrlRequestDto } from './dto/federation.dto';
import { FederationErrors } from './federation.errors';
import { FederationService } from './federation.service';
import { IdentitiesService } from './identities.service';

const providerParam = ApiParam({ name: 'provider', description: 'Provider id from GET /auth/providers', example: 'corp' });

/** The caller's own linked identities. Bearer tokens only: a personal API key never reaches sign-in methods. */
@ApiTags('Users')
@Controller('users/me/identities')
export class IdentitiesController {
  constructor(
    private readonly identities: IdentitiesService,
    private readonly federation: FederationService,
    private readonly auth: AuthService,
    private readonly users: UsersService,
    private readonly clock: Clock,
  ) {}

  @Auth()
  @Get()
  @ApiOperation({ operationId: 'listMyIdentities', summary: 'The identity providers linked to your account' })
  @ApiEnvelope(IdentityListDto, { description: 'Linked identities' })
  @ApiErrors(AuthErrors.SESSION_REQUIRED)
  async list(@CurrentUser() principal: Principal): Promise<IdentityListDto> {
    this.auth.requireSession(principal);
    return { items: await this.identities.listFor(principal.userId) };
  }

  @Auth()
  @Post(':provider/url')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'createLinkUrl',
    summary: 'Start linking a provider to your account: the URL to send the browser to',
    description:
      'Needs a sign-in within RECENT_AUTH_SECONDS (403 RECENT_AUTH_REQUIRED). The callback links the identity to this account (only while this session lives) and returns to redirectUri with `?linked=<provider>` or `?error=<CODE>` (IDENTITY_ALREADY_LINKED when the identity belongs to another account or this account has one from that provider). The owner is notified. An account whose email is not proven yet links nothing (403 EMAIL_NOT_VERIFIED): whoever proves it later gets the account without identities linked before.',
  })
  @providerParam
  @ApiEnvelope(AuthorizationUrlDto, { description: 'The provider URL' })
  @ApiErrors(CommonErrors.VALIDATION_FAILED, AuthErrors.SESSION_REQUIRED, AuthErrors.RECENT_AUTH_REQUIRED, AccountErrors.EMAIL_NOT_VERIFIED, FederationErrors.REDIRECT_URI_NOT_ALLOWED, FederationErrors.OAUTH_PROVIDER_UNKNOWN, FederationErrors.OAUTH_PROVIDER_ERROR)
  async linkUrl(@CurrentUser() principal: Principal, @Param('provider') provider: string, @Body() dto: LinkUrlRequestDto): Promise<AuthorizationUrlDto> {
    return { url: await this.federation.startLink(principal, provider, dto.redirectUri) };
  }

  @Auth()
  @Delete(':provider')
  @SuccessMessage('deleted')
  @ApiOperation({
    operationId: 'unlinkIdentity',
    summary: 'Remove a linked provider from your account',
    description: 'Needs a sign-in within RECENT_AUTH_SECONDS. Refused (409 LAST_SIGN_IN_METHOD) when nothing else could sign in: no password, no phone for SMS codes, no other identity. The owner is notified.',
  })
  @providerParam
  @ApiEnvelope(null, { description: 'Removed' })
  @ApiErrors(AuthErrors.SESSION_REQUIRED, AuthErrors.RECENT_AUTH_REQUIRED, FederationErrors.IDENTITY_NOT_FOUND, FederationErrors.LAST_SIGN_IN_METHOD)
  async unlink(@CurrentUser() principal: Principal, @Param('provider') provider: string, @Client() client: ClientInfo, @AcceptLanguage() language?: string): Promise<void> {
    this.auth.requireSession(principal);
    if (!this.auth.isRecentlyAuthenticated(principal, this.clock.now())) throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
    await this.identities.unlink(await this.users.getById(principal.userId), provider, client, pickLanguage(language));
  }
}
