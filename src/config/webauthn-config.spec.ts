import { ConfigError, loadConfig } from './app-config';

describe('configuration › passkeys (WEBAUTHN_*, contract §10)', () => {
  it('defaults to localhost: RP ID localhost, origin http://localhost:PORT plus the CORS origins that fit', () => {
    expect(loadConfig({}).mfa.webauthn).toEqual({ rpId: 'localhost', rpName: 'User Centre', origins: ['http://localhost:3000'] });
    expect(loadConfig({ PORT: '8080', CORS_ORIGINS: 'http://localhost:5173,https://app.example.com' }).mfa.webauthn.origins).toEqual(['http://localhost:8080', 'http://localhost:5173']);
  });

  it('reads a production relying party: the RP ID, its name and exact https origins on it or its subdomains', () => {
    const config = loadConfig({ WEBAUTHN_RP_ID: 'Example.com', WEBAUTHN_RP_NAME: 'Example', WEBAUTHN_ORIGINS: 'https://example.com, https://app.example.com:8443/' }).mfa.webauthn;
    expect(config).toEqual({ rpId: 'example.com', rpName: 'Example', origins: ['https://example.com', 'https://app.example.com:8443'] });
    // Without WEBAUTHN_ORIGINS, fitting CORS origins serve.
    expect(loadConfig({ WEBAUTHN_RP_ID: 'example.com', CORS_ORIGINS: 'https://app.example.com' }).mfa.webauthn.origins).toEqual(['https://app.example.com']);
  });

  it.each([
    [{ WEBAUTHN_RP_ID: 'https://example.com' }, 'WEBAUTHN_RP_ID'],
    [{ WEBAUTHN_RP_ID: 'example.com:443' }, 'WEBAUTHN_RP_ID'],
    [{ WEBAUTHN_RP_ID: '192.168.1.10' }, 'WEBAUTHN_RP_ID'],
    [{ WEBAUTHN_RP_ID: 'example.com' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.org' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://evilexample.com' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'http://example.com' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.com/login' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_ORIGINS: 'not an origin' }, 'WEBAUTHN_ORIGINS'],
    [{ WEBAUTHN_RP_NAME: 'x'.repeat(65) }, 'WEBAUTHN_RP_NAME'],
  ])('refuses %j at start-up, naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(setting);
  });
});
