import { bearer } from '../factories/sessions';
import { auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { outbox } from '../factories/codes';
import {
  callbackPath,
  deliverCallback,
  federatedSignIn,
  federationEnv,
  idpClients,
  idpPerson,
  providerCallback,
  signInUrl,
  SPA_PROFILE,
  SPA_RETURN,
} from '../factories/federation';
import { DEFAULT_PASSWORD, signedInUser, signIn, signUp } from '../factories/users';
import { OidcIdp } from '../helpers/oidc-idp';
import { createTestApp, TestApp } from '../helpers/test-app';
import { AuthService } from '@/modules/auth/auth.service';

const PROVIDERS = ['corp', 'corp2'];

describe('Sign-in with other identity providers (contract §11) against a real OpenID Connect provider', () => {
  let idp: OidcIdp;
  let t: TestApp;
  let admin: SignedInAdmin;

  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(PROVIDERS));
    ({ t, admin } = await createAppWithAdmin(federationEnv(idp, PROVIDERS)));
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });
  afterEach(() => idp.setIdTokenMode('normal'));

  it('lists the enabled providers for the sign-in page (no secrets)', async () => {
    const response = await t.http.get('/api/v1/auth/providers').expect(200);
    expect(response.body.data.items).toEqual([
      { id: 'corp', name: 'corp sign-in', kind: 'oidc' },
      { id: 'corp2', name: 'corp2 sign-in', kind: 'oidc' },
    ]);
    expect(JSON.stringify(response.body)).not.toContain('federation-test-client-secret');
  });

  it('the URL carries PKCE S256, state, nonce and the callback URL built from PUBLIC_BASE_URL', async () => {
    const url = new URL(await signInUrl(t, 'corp'));
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe('http://uc.test/api/v1/auth/oauth/corp/callback');
    // The Host header never decides it.
    const spoofed = await t.http.post('/api/v1/auth/oauth/corp/url').set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example').send({ redirectUri: SPA_RETURN }).expect(200);
    expect(new URL(spoofed.body.data.url).searchParams.get('redirect_uri')).toBe('http://uc.test/api/v1/auth/oauth/corp/callback');
  });

  it('an unknown identity creates an account (generated username, the provider email verified as it says); the same identity signs in to it again', async () => {
    const person = await idpPerson(idp, { name: 'Ada Lovelace' });
    const auth = t.app.get(AuthService);
    const spy = jest.spyOn(auth, 'completeSignIn');
    const first = await federatedSignIn(t, idp, 'corp', person.id);
    expect(first.user).toMatchObject({ username: expect.stringMatching(/^u_[a-z0-9]{10}$/), email: person.claims.email, emailVerified: true, displayName: 'Ada Lovelace' });
    // The one "complete sign-in" path of every first-factor sign-in (where the MFA challenge goes in).
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ id: first.user.id }), expect.anything(), 'federated');
    spy.mockRestore();
    const me = await t.http.get('/api/v1/users/me').set(bearer(first)).expect(200);
    expect(me.body.data.id).toBe(first.user.id);
    const again = await federatedSignIn(t, idp, 'corp', person.id);
    expect(again.user.id).toBe(first.user.id);
    const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(again)).expect(200);
    expect(identities.body.data.items).toEqual([{ provider: 'corp', subject: person.id, email: person.claims.email, linkedAt: expect.any(String) }]);
    const events = await auditEvents(t, admin.auth, { userId: first.user.id });
    expect(events.filter((event) => event.type === 'sign_up').map((event) => event.detail)).toEqual([{ method: 'federated:corp' }]);
    expect(events.filter((event) => event.type === 'sign_in' && event.outcome === 'success')).toHaveLength(2);
  });
});
