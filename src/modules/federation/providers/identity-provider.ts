/**
 * The port every identity provider implements (OpenID Connect by discovery, GitHub, WeChat): it
 * builds the URL the browser is sent to, and turns the callback into a verified profile.
 */
export type ProviderKind = 'oidc' | 'github' | 'wechat';

/** What the flow generated for one sign-in attempt; kept in the shared store between URL and callback. */
export interface AuthorizationRequest {
  /** `${PUBLIC_BASE_URL}/api/v1/auth/oauth/{provider}/callback`, registered at the provider. */
  callbackUrl: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The person as the provider vouches for them. */
export interface ProviderProfile {
  /** Stable and unique within the provider (OIDC `sub`, GitHub user id, WeChat unionid or openid). */
  subject: string;
  email: string | null;
  /** True only when the provider itself says the address is verified. */
  emailVerified: boolean;
  displayName: string | null;
  avatarUrl: string | null;
}

/** Anything the provider refused, or a check on its answer failed; the flow reports OAUTH_PROVIDER_ERROR. */
export class ProviderFailure extends Error {}

export interface IdentityProvider {
  readonly id: string;
  readonly name: string;
  readonly kind: ProviderKind;
  authorizationUrl(request: AuthorizationRequest): Promise<string>;
  /** `callback` is the URL the provider sent the browser to (our callback URL with its query). */
  complete(callback: URL, request: AuthorizationRequest): Promise<ProviderProfile>;
}

/** What every adapter shares: its settings, and the id and name they give. */
export abstract class ConfiguredProvider<Settings extends { id: string; name: string }> implements IdentityProvider {
  abstract readonly kind: ProviderKind;
  readonly id: string;
  readonly name: string;

  constructor(protected readonly settings: Settings) {
    this.id = settings.id;
    this.name = settings.name;
  }

  abstract authorizationUrl(request: AuthorizationRequest): Promise<string>;
  abstract complete(callback: URL, request: AuthorizationRequest): Promise<ProviderProfile>;
}
