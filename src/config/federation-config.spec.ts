import { ConfigError, loadConfig } from './app-config';

const corp = {
  OAUTH_PROVIDERS: 'corp',
  OAUTH_CORP_ISSUER: 'https://id.example.com',
  OAUTH_CORP_CLIENT_ID: 'user-centre',
  OAUTH_CORP_CLIENT_SECRET: 'secret',
  OAUTH_REDIRECT_URIS: 'https://app.example.com/oauth/done',
  PUBLIC_BASE_URL: 'https://accounts.example.com/',
};

describe('configuration › identity providers (contract §11)', () => {
  it('has none by default, and reads a provider with its defaults', () => {
    expect(loadConfig({}).federation).toEqual({ providers: [], redirectUris: [], publicBaseUrl: null, allowInsecureIssuers: false });
    expect(loadConfig(corp).federation).toEqual({
      providers: [{ id: 'corp', kind: 'oidc', name: 'corp', issuer: 'https://id.example.com', clientId: 'user-centre', clientSecret: 'secret', scopes: ['openid', 'email', 'profile'] }],
      redirectUris: ['https://app.example.com/oauth/done'],
      publicBaseUrl: 'https://accounts.example.com',
      allowInsecureIssuers: false,
    });
  });

  it.each([
    [{ ...corp, PUBLIC_BASE_URL: '' }, 'PUBLIC_BASE_URL'],
    [{ ...corp, OAUTH_REDIRECT_URIS: '' }, 'OAUTH_REDIRECT_URIS'],
    [{ ...corp, OAUTH_REDIRECT_URIS: 'not a url' }, 'OAUTH_REDIRECT_URIS'],
    [{ ...corp, OAUTH_CORP_ISSUER: '' }, 'OAUTH_CORP_ISSUER'],
    [{ ...corp, OAUTH_CORP_CLIENT_SECRET: '' }, 'OAUTH_CORP_CLIENT_SECRET'],
    [{ ...corp, OAUTH_CORP_SCOPES: 'email profile' }, 'OAUTH_CORP_SCOPES'],
    [{ ...corp, OAUTH_CORP_ISSUER: 'http://id.example.com' }, 'OAUTH_CORP_ISSUER'],
    [{ ...corp, OAUTH_CORP_ISSUER: 'https://127.0.0.1:8443' }, 'OAUTH_CORP_ISSUER'],
    [{ ...corp, OAUTH_CORP_ISSUER: 'https://192.168.1.5' }, 'OAUTH_CORP_ISSUER'],
    [{ ...corp, OAUTH_PROVIDERS: 'Corp Sign-In' }, 'OAUTH_PROVIDERS'],
    [{ ...corp, OAUTH_PROVIDERS: 'corp,corp' }, 'OAUTH_PROVIDERS'],
  ])('refuses %j naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${setting} `));
  });

  it('OAUTH_ALLOW_INSECURE_ISSUERS admits http and loopback issuers, and is refused in production', () => {
    expect(loadConfig({ ...corp, OAUTH_CORP_ISSUER: 'http://127.0.0.1:4000', OAUTH_ALLOW_INSECURE_ISSUERS: 'true' }).federation.providers[0]).toMatchObject({ issuer: 'http://127.0.0.1:4000' });
    expect(() => loadConfig({ NODE_ENV: 'production', OAUTH_ALLOW_INSECURE_ISSUERS: 'true' })).toThrow(/^Invalid configuration: OAUTH_ALLOW_INSECURE_ISSUERS /);
  });

  it('github and wechat are named providers with their own endpoints (overridable, e.g. for GitHub Enterprise or tests)', () => {
    const env = { ...corp, OAUTH_PROVIDERS: 'github,wechat', OAUTH_GITHUB_CLIENT_ID: 'gh', OAUTH_GITHUB_CLIENT_SECRET: 's', OAUTH_WECHAT_CLIENT_ID: 'wx1', OAUTH_WECHAT_CLIENT_SECRET: 't' };
    expect(loadConfig(env).federation.providers).toEqual([
      { id: 'github', kind: 'github', name: 'GitHub', clientId: 'gh', clientSecret: 's', scopes: ['read:user', 'user:email'], authorizeUrl: 'https://github.com/login/oauth/authorize', tokenUrl: 'https://github.com/login/oauth/access_token', apiUrl: 'https://api.github.com' },
      { id: 'wechat', kind: 'wechat', name: 'WeChat', clientId: 'wx1', clientSecret: 't', authorizeUrl: 'https://open.weixin.qq.com/connect/qrconnect', apiUrl: 'https://api.weixin.qq.com' },
    ]);
    expect(loadConfig({ ...env, OAUTH_GITHUB_API_URL: 'https://github.example.com/api/v3/' }).federation.providers[0]).toMatchObject({ apiUrl: 'https://github.example.com/api/v3' });
    expect(() => loadConfig({ ...env, OAUTH_GITHUB_TOKEN_URL: 'http://127.0.0.1:9/token' })).toThrow(/^Invalid configuration: OAUTH_GITHUB_TOKEN_URL /);
    expect(() => loadConfig({ ...env, OAUTH_WECHAT_CLIENT_SECRET: '' })).toThrow(/^Invalid configuration: OAUTH_WECHAT_CLIENT_SECRET /);
  });
});
