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
    expect(loadConfig({ ...corp, OAUTH_CORP_ISSUER: 'http://127.0.0.1:4000', OAUTH_ALLOW_INSECURE_ISSUERS: 'true' }).federation.providers[0].issuer).toBe('http://127.0.0.1:4000');
    expect(() => loadConfig({ NODE_ENV: 'production', OAUTH_ALLOW_INSECURE_ISSUERS: 'true' })).toThrow(/^Invalid configuration: OAUTH_ALLOW_INSECURE_ISSUERS /);
  });
});
