import { bearer } from '../factories/sessions';
import { callbackPath, PUBLIC_BASE_URL, SPA_PROFILE, SPA_RETURN } from '../factories/federation';
import { signedInUser, signUp } from '../factories/users';
import { GithubStub, WechatStub } from '../helpers/oauth2-stubs';
import { createTestApp, TestApp } from '../helpers/test-app';

/** GitHub and WeChat as named providers, against loopback servers implementing their documented endpoints. */
describe('Sign-in with GitHub and WeChat (contract §11)', () => {
  let github: GithubStub;
  let wechat: WechatStub;
  let t: TestApp;

  beforeAll(async () => {
    github = await new GithubStub().start();
    wechat = await new WechatStub().start();
    t = await createTestApp({
      OAUTH_PROVIDERS: 'github,wechat',
      OAUTH_REDIRECT_URIS: `${SPA_RETURN},${SPA_PROFILE}`,
      PUBLIC_BASE_URL,
      OAUTH_ALLOW_INSECURE_ISSUERS: 'true',
      OAUTH_GITHUB_CLIENT_ID: github.clientId,
      OAUTH_GITHUB_CLIENT_SECRET: github.clientSecret,
      OAUTH_GITHUB_AUTHORIZE_URL: `${github.origin}/login/oauth/authorize`,
      OAUTH_GITHUB_TOKEN_URL: `${github.origin}/login/oauth/access_token`,
      OAUTH_GITHUB_API_URL: github.origin,
      OAUTH_WECHAT_CLIENT_ID: wechat.appId,
      OAUTH_WECHAT_CLIENT_SECRET: wechat.appSecret,
      OAUTH_WECHAT_AUTHORIZE_URL: `${wechat.origin}/connect/qrconnect`,
      OAUTH_WECHAT_API_URL: wechat.origin,
    });
  });
  afterAll(async () => {
    await t?.close();
    await github?.stop();
    await wechat?.stop();
  });

  async function startUrl(provider: string): Promise<string> {
    return (await t.http.post(`/api/v1/auth/oauth/${provider}/url`).send({ redirectUri: SPA_RETURN }).expect(200)).body.data.url;
  }

  async function deliver(callback: URL): Promise<URL> {
    return new URL((await t.http.get(callbackPath(callback)).expect(302)).headers.location);
  }

  async function exchange(back: URL) {
    const result = back.searchParams.get('result');
    if (!result) throw new Error(`no result: ${back.href}`);
    return (await t.http.post('/api/v1/auth/oauth/exchange').send({ result }).expect(200)).body.data as { accessToken: string; user: { id: string; email: string | null; emailVerified: boolean; displayName: string | null } };
  }

  it('lists both with their kinds', async () => {
    const response = await t.http.get('/api/v1/auth/providers').expect(200);
    expect(response.body.data.items).toEqual([
      { id: 'github', name: 'GitHub', kind: 'github' },
      { id: 'wechat', name: 'WeChat', kind: 'wechat' },
    ]);
  });

  describe('GitHub', () => {
    it('the URL is GitHub authorize with state and PKCE S256; the round trip creates an account with the primary verified email', async () => {
      const person = github.addPerson({ login: 'octo-ada', name: 'Ada Octo', emails: [
        { email: `ada-unverified-${Date.now()}@example.com`, primary: false, verified: false, visibility: null },
        { email: `ada-primary-${Date.now()}@example.com`, primary: true, verified: true, visibility: 'public' },
      ] });
      const url = new URL(await startUrl('github'));
      expect(`${url.origin}${url.pathname}`).toBe(`${github.origin}/login/oauth/authorize`);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('redirect_uri')).toBe(`${PUBLIC_BASE_URL}/api/v1/auth/oauth/github/callback`);
      const signedIn = await exchange(await deliver(await github.authorize(url.href, String(person.id))));
      expect(signedIn.user).toMatchObject({ email: person.emails[1].email, emailVerified: true, displayName: 'Ada Octo' });
      const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(signedIn)).expect(200);
      expect(identities.body.data.items).toEqual([{ provider: 'github', subject: String(person.id), email: person.emails[1].email, linkedAt: expect.any(String) }]);
      // Signing in again finds the same account.
      expect((await exchange(await deliver(await github.authorize(await startUrl('github'), String(person.id))))).user.id).toBe(signedIn.user.id);
    });

    it('no verified email: the account gets none (an unverified GitHub address is never taken)', async () => {
      const person = github.addPerson({ login: 'octo-nomail', name: null, emails: [{ email: `nomail-${Date.now()}@example.com`, primary: true, verified: false, visibility: 'public' }] });
      const signedIn = await exchange(await deliver(await github.authorize(await startUrl('github'), String(person.id))));
      expect(signedIn.user).toMatchObject({ email: null, emailVerified: false, displayName: 'octo-nomail' });
    });

    it("GitHub's error shape (HTTP 200 with error) is refused: error=OAUTH_PROVIDER_ERROR", async () => {
      const person = github.addPerson({ login: 'octo-err', name: 'Err', emails: [] });
      const callback = await github.authorize(await startUrl('github'), String(person.id));
      const spent = new URL(callback);
      spent.searchParams.set('code', 'not-a-code-github-gave');
      expect((await deliver(spent)).searchParams.get('error')).toBe('OAUTH_PROVIDER_ERROR');
    });

    it('a verified GitHub email of an existing account is never linked silently (error=ACCOUNT_EXISTS_LINK_REQUIRED)', async () => {
      const existing = await signUp(t);
      const person = github.addPerson({ login: 'octo-dup', name: 'Dup', emails: [{ email: existing.email, primary: true, verified: true, visibility: null }] });
      expect((await deliver(await github.authorize(await startUrl('github'), String(person.id)))).searchParams.get('error')).toBe('ACCOUNT_EXISTS_LINK_REQUIRED');
    });
  });

  describe('WeChat', () => {
    it('the URL is qrconnect with snsapi_login and state; an account keyed by unionid, with the WeChat nickname and no email', async () => {
      const person = wechat.addPerson({ nickname: '小明', unionid: `u${Date.now()}` });
      const url = new URL(await startUrl('wechat'));
      expect(`${url.origin}${url.pathname}`).toBe(`${wechat.origin}/connect/qrconnect`);
      expect(url.searchParams.get('scope')).toBe('snsapi_login');
      expect(url.searchParams.get('appid')).toBe(wechat.appId);
      expect(url.hash).toBe('#wechat_redirect');
      const signedIn = await exchange(await deliver(await wechat.authorize(url.href, person.openid)));
      expect(signedIn.user).toMatchObject({ email: null, displayName: '小明' });
      const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(signedIn)).expect(200);
      expect(identities.body.data.items[0]).toMatchObject({ provider: 'wechat', subject: person.unionid, email: null });
    });

    it('without a unionid the openid is the key', async () => {
      const person = wechat.addPerson({ nickname: 'NoUnion' });
      const signedIn = await exchange(await deliver(await wechat.authorize(await startUrl('wechat'), person.openid)));
      const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(signedIn)).expect(200);
      expect(identities.body.data.items[0].subject).toBe(person.openid);
    });

    it("WeChat's error shape (HTTP 200 with errcode) is refused: error=OAUTH_PROVIDER_ERROR", async () => {
      const person = wechat.addPerson({ nickname: 'Err' });
      const callback = await wechat.authorize(await startUrl('wechat'), person.openid);
      const forged = new URL(callback);
      forged.searchParams.set('code', 'made-up-code');
      expect((await deliver(forged)).searchParams.get('error')).toBe('OAUTH_PROVIDER_ERROR');
    });

    it('links to a signed-in account from the profile', async () => {
      const user = await signedInUser(t);
      const person = wechat.addPerson({ nickname: 'Linker', unionid: `link${Date.now()}` });
      const started = await t.http.post('/api/v1/users/me/identities/wechat/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      expect((await deliver(await wechat.authorize(started.body.data.url, person.openid))).href).toBe(`${SPA_PROFILE}?linked=wechat`);
      expect((await exchange(await deliver(await wechat.authorize(await startUrl('wechat'), person.openid)))).user.id).toBe(user.user.id);
    });
  });
});
