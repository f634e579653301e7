import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from './app-config';

describe('REFRESH_TOKEN_COOKIE configuration', () => {
  it('is off by default, and on with explicit origins', () => {
    expect(loadConfig({}).sessions.refreshTokenCookie).toBe(false);
    const on = loadConfig({ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' });
    expect(on.sessions.refreshTokenCookie).toBe(true);
    expect(on.http.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it.each([
    [{ REFRESH_TOKEN_COOKIE: 'true' }, /CORS_ORIGINS is required when REFRESH_TOKEN_COOKIE=true/],
    [{ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: '*' }, /CORS_ORIGINS must list exact origins/],
    [{ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'https://app.example.com/' }, /CORS_ORIGINS must list exact origins/],
    [{ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'https://app.example.com/spa' }, /CORS_ORIGINS must list exact origins/],
    [{ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'null' }, /CORS_ORIGINS must list exact origins/],
    [{ REFRESH_TOKEN_COOKIE: 'maybe', CORS_ORIGINS: 'https://app.example.com' }, /REFRESH_TOKEN_COOKIE must be true or false/],
  ])('refuses %j with one line naming the setting', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('wants https origins in production (a page on plain http could be altered in transit and spend the cookie)', () => {
    const production = {
      NODE_ENV: 'production',
      JWT_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      REAL_NAME_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      REAL_NAME_INDEX_KEY: Buffer.alloc(32, 2).toString('base64'),
      CODE_HMAC_KEY: 'k'.repeat(32),
      SMS_TRANSPORT: 'http',
      SMS_HTTP_URL: 'https://sms.example.com',
      MAIL_TRANSPORT: 'smtp',
      SMTP_HOST: 'smtp.example.com',
      MAIL_FROM: 'accounts@example.com',
      REFRESH_TOKEN_COOKIE: 'true',
    };
    expect(() => loadConfig({ ...production, CORS_ORIGINS: 'http://app.example.com' })).toThrow('Invalid configuration: CORS_ORIGINS must list https origins when NODE_ENV=production');
    expect(loadConfig({ ...production, CORS_ORIGINS: 'https://app.example.com' }).sessions.refreshTokenCookie).toBe(true);
    // Outside production, http://localhost works: browsers accept Secure cookies from it.
    expect(loadConfig({ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: 'http://localhost:5173' }).sessions.refreshTokenCookie).toBe(true);
  });
});
