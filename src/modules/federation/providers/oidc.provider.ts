import type * as Oidc from 'openid-client';
import type { OidcProviderConfig } from '@/config/app-config';
import { AuthorizationRequest, ConfiguredProvider, ProviderFailure, ProviderProfile } from './identity-provider';

/** Seconds each request to the issuer may take (discovery, token, JWKS, userinfo). */
const ISSUER_TIMEOUT_SECONDS = 10;

let loaded: typeof Oidc | null = null;

/** openid-client (with jose and oauth4webapi) is loaded on first use: only a configured OIDC issuer needs it (~1 MB of heap). */
function oidc(): typeof Oidc {
  return (loaded ??= require('openid-client') as typeof Oidc);
}

/**
 * Any OpenID Connect issuer, by discovery, with openid-client (v6: the maintained line; it is ESM
 * only, which Node ≥ 20.19 loads through require(), and Jest compiles to CommonJS — see jest.config.js).
 * Authorization code + PKCE S256, state and nonce; the ID token from the token endpoint has its
 * signature checked against the issuer's JWKS (enableNonRepudiationChecks: openid-client skips it
 * by default because TLS already authenticates the token endpoint) as well as iss, aud, exp and nonce.
 */
export class OidcProvider extends ConfiguredProvider<OidcProviderConfig> {
  readonly kind = 'oidc' as const;
  private configuration: Promise<Oidc.Configuration> | null = null;

  constructor(
    settings: OidcProviderConfig,
    private readonly allowInsecure: boolean,
  ) {
    super(settings);
  }

  async authorizationUrl(request: AuthorizationRequest): Promise<string> {
    const config = await this.discovered();
    const url = oidc().buildAuthorizationUrl(config, {
      redirect_uri: request.callbackUrl,
      response_type: 'code',
      scope: this.settings.scopes.join(' '),
      state: request.state,
      nonce: request.nonce,
      code_challenge: await oidc().calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  async complete(callback: URL, request: AuthorizationRequest): Promise<ProviderProfile> {
    const config = await this.discovered();
    let tokens: Awaited<ReturnType<typeof Oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc().authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw new ProviderFailure(`token exchange refused: ${describe(error)}`);
    }
    const claims = tokens.claims();
    if (!claims) throw new ProviderFailure('no ID token');
    // Scope claims usually come from userinfo (ID tokens carry few); its subject must be the ID token's.
    let info: Record<string, unknown> = {};
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        info = await oidc().fetchUserInfo(config, tokens.access_token, claims.sub);
      } catch (error) {
        throw new ProviderFailure(`userinfo refused: ${describe(error)}`);
      }
    }
    const pick = (name: string): unknown => info[name] ?? claims[name];
    const email = typeof pick('email') === 'string' ? (pick('email') as string) : null;
    return {
      subject: claims.sub,
      email,
      emailVerified: email !== null && pick('email_verified') === true,
      displayName: typeof pick('name') === 'string' ? (pick('name') as string) : null,
      avatarUrl: typeof pick('picture') === 'string' ? (pick('picture') as string) : null,
    };
  }

  /** Discovery once per process; a failure is not kept, so the next attempt tries again. */
  private discovered(): Promise<Oidc.Configuration> {
    if (!this.configuration) {
      const client = oidc();
      const execute = this.allowInsecure ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks];
      this.configuration = client
        .discovery(new URL(this.settings.issuer), this.settings.clientId, undefined, client.ClientSecretBasic(this.settings.clientSecret), { execute, timeout: ISSUER_TIMEOUT_SECONDS })
        .catch((error: unknown) => {
          this.configuration = null;
          throw new ProviderFailure(`discovery of ${this.settings.issuer} failed: ${describe(error)}`);
        });
    }
    return this.configuration;
  }
}

/** The error's name, message and OAuth error code: never a token or a secret. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { error?: unknown; code?: unknown }).error ?? (error as { code?: unknown }).code;
  return `${error.name}${code ? ` ${String(code)}` : ''}: ${error.message}`;
}
