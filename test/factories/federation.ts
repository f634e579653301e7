import { randomBytes } from 'node:crypto';
import type { TestApp } from '../helpers/test-app';
import type { IdpAccount, OidcIdp } from '../helpers/oidc-idp';

/** Where the tests' app says it lives (PUBLIC_BASE_URL): the callback URL registered at the provider is built from it. */
export const PUBLIC_BASE_URL = 'http://uc.test';
export const SPA_RETURN = 'https://spa.test/oauth/done';
export const SPA_PROFILE = 'https://spa.test/profile/identities';
export const CLIENT_SECRET = 'federation-test-client-secret';

export const callbackUrlOf = (provider: string, base = PUBLIC_BASE_URL) => `${base}/api/v1/auth/oauth/${provider}/callback`;

/** The provider's registration of our service: one client per provider id. */
export const idpClients = (providers: string[], base = PUBLIC_BASE_URL) =>
  providers.map((provider) => ({ client_id: `uc-${provider}`, client_secret: CLIENT_SECRET, redirect_uris: [callbackUrlOf(provider, base)] }));

/** The settings that enable the providers `providers` (all at one issuer, one client each). */
export function federationEnv(idp: OidcIdp, providers: string[], base = PUBLIC_BASE_URL): Record<string, string> {
  const env: Record<string, string> = {
    OAUTH_PROVIDERS: providers.join(','),
    OAUTH_REDIRECT_URIS: `${SPA_RETURN},${SPA_PROFILE}`,
    PUBLIC_BASE_URL: base,
    OAUTH_ALLOW_INSECURE_ISSUERS: 'true',
  };
  for (const provider of providers) {
    const prefix = `OAUTH_${provider.toUpperCase()}_`;
    Object.assign(env, { [`${prefix}ISSUER`]: idp.issuer, [`${prefix}CLIENT_ID`]: `uc-${provider}`, [`${prefix}CLIENT_SECRET`]: CLIENT_SECRET, [`${prefix}NAME`]: `${provider} sign-in` });
  }
  return env;
}

/** A person at the provider, with a subject nobody else in the run has. */
export async function idpPerson(idp: OidcIdp, claims: IdpAccount = {}): Promise<{ id: string; claims: IdpAccount }> {
  const id = `person-${randomBytes(5).toString('hex')}`;
  const full = { email: `${id}@idp.example`, email_verified: true, name: `Person ${id}`, ...claims };
  await idp.addAccount(id, full);
  return { id, claims: full };
}

/** The path and query our app answers for a callback URL the provider sent the browser to. */
export const callbackPath = (url: URL) => `${url.pathname}${url.search}`;

/** The provider URL from POST /auth/oauth/{provider}/url. */
export async function signInUrl(t: TestApp, provider: string, body: Record<string, unknown> = {}): Promise<string> {
  const response = await t.http.post(`/api/v1/auth/oauth/${provider}/url`).send({ redirectUri: SPA_RETURN, ...body });
  if (response.status !== 200) throw new Error(`url: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.data.url as string;
}

/** The start of the flow and the provider's sign-in: the callback URL, not yet delivered to our app. */
export async function providerCallback(t: TestApp, idp: OidcIdp, provider: string, personId: string, body: Record<string, unknown> = {}): Promise<URL> {
  return idp.signIn(await signInUrl(t, provider, body), personId);
}

/** The browser delivering the callback: answers where our app sent it (the SPA URL with result, linked or error). */
export async function deliverCallback(t: TestApp, callback: URL): Promise<URL> {
  const response = await t.http.get(callbackPath(callback));
  if (response.status !== 302) throw new Error(`callback: ${response.status} ${JSON.stringify(response.body)}`);
  return new URL(response.headers.location);
}

/** The full sign-in: provider form, callback, exchange. Answers the token pair. */
export async function federatedSignIn(t: TestApp, idp: OidcIdp, provider: string, personId: string) {
  const back = await deliverCallback(t, await providerCallback(t, idp, provider, personId));
  const result = back.searchParams.get('result');
  if (!result) throw new Error(`no result: ${back.href}`);
  const response = await t.http.post('/api/v1/auth/oauth/exchange').send({ result }).expect(200);
  return response.body.data as { accessToken: string; refreshToken: string; user: { id: string; username: string; email: string | null; emailVerified: boolean; displayName: string | null } };
}
