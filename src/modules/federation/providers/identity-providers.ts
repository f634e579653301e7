import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { FederationErrors } from '../federation.errors';
import { IdentityProvider } from './identity-provider';
import { GithubProvider } from './github.provider';
import { OidcProvider } from './oidc.provider';
import { WechatProvider } from './wechat.provider';

/** The providers the settings enable (OAUTH_PROVIDERS), one adapter each, by id. */
@Injectable()
export class IdentityProviders {
  private readonly byId = new Map<string, IdentityProvider>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    const { providers, allowInsecureIssuers } = config.federation;
    for (const settings of providers) {
      const adapter =
        settings.kind === 'github' ? new GithubProvider(settings) : settings.kind === 'wechat' ? new WechatProvider(settings) : new OidcProvider(settings, allowInsecureIssuers);
      this.byId.set(settings.id, adapter);
    }
  }

  list(): IdentityProvider[] {
    return [...this.byId.values()];
  }

  get(id: string): IdentityProvider {
    const provider = this.byId.get(id);
    if (!provider) throw new AppException(FederationErrors.OAUTH_PROVIDER_UNKNOWN);
    return provider;
  }

  /** Where the provider sends the browser back: built from PUBLIC_BASE_URL, never from the Host header. */
  callbackUrl(id: string): string {
    return `${this.config.federation.publicBaseUrl}/api/v1/auth/oauth/${id}/callback`;
  }
}
