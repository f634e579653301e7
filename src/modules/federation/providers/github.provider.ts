import { createHash } from 'node:crypto';
import type { GithubProviderConfig } from '@/config/app-config';
import { AuthorizationRequest, ConfiguredProvider, ProviderFailure, ProviderProfile } from './identity-provider';
import { providerJson, stringOr } from './oauth2-http';

const pkceChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/**
 * GitHub sign-in (an OAuth 2.0 app; GitHub has no OpenID Connect for people). The person is the
 * numeric user id; the email is the primary verified one from GET /user/emails (GitHub says which are
 * verified), else any verified one, else none. Token errors come as HTTP 200 with `error`.
 */
export class GithubProvider extends ConfiguredProvider<GithubProviderConfig> {
  readonly kind = 'github' as const;

  async authorizationUrl(request: AuthorizationRequest): Promise<string> {
    const url = new URL(this.settings.authorizeUrl);
    url.search = new URLSearchParams({
      client_id: this.settings.clientId,
      redirect_uri: request.callbackUrl,
      scope: this.settings.scopes.join(' '),
      state: request.state,
      code_challenge: pkceChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
      allow_signup: 'true',
    }).toString();
    return url.href;
  }

  async complete(callback: URL, request: AuthorizationRequest): Promise<ProviderProfile> {
    const code = callback.searchParams.get('code');
    if (!code) throw new ProviderFailure('no code in the callback');
    const token = (await providerJson(this.settings.tokenUrl, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: this.settings.clientId, client_secret: this.settings.clientSecret, code, redirect_uri: request.callbackUrl, code_verifier: request.codeVerifier }).toString(),
    })) as Record<string, unknown>;
    if (token.error || typeof token.access_token !== 'string') throw new ProviderFailure(`token refused: ${stringOr(token.error, 'no access_token')}`);
    const headers = { Authorization: `Bearer ${token.access_token}`, Accept: 'application/vnd.github+json', 'User-Agent': 'user-centre', 'X-GitHub-Api-Version': '2022-11-28' };
    const user = (await providerJson(`${this.settings.apiUrl}/user`, { headers })) as Record<string, unknown>;
    if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new ProviderFailure('GET /user gave no id');
    const emails = await providerJson(`${this.settings.apiUrl}/user/emails`, { headers }).catch(() => []);
    const verified = (Array.isArray(emails) ? emails : []).filter(
      (entry): entry is { email: string; primary?: boolean; verified: true } => !!entry && typeof entry === 'object' && (entry as { verified?: unknown }).verified === true && typeof (entry as { email?: unknown }).email === 'string',
    );
    const email = (verified.find((entry) => entry.primary) ?? verified[0])?.email ?? null;
    return {
      subject: String(user.id),
      email,
      emailVerified: email !== null,
      displayName: stringOr(user.name) ?? stringOr(user.login),
      avatarUrl: stringOr(user.avatar_url),
    };
  }
}
