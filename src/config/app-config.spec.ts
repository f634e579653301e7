import { generateKeyPairSync } from 'node:crypto';
import { ConfigError, loadConfig } from './app-config';

// loadConfig parses the key: a real one (2048-bit RSA), so the checks after it are reached.
const SIGNING_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('configuration', () => {
  it('has safe defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.passwords.bcryptCost).toBe(12);
    expect(config.tokens.accessTtlSeconds).toBe(900);
    expect(config.database.driver).toBe('sqlite');
    expect(config.redis.url).toBeNull();
    expect(config.registration).toMatchObject({ enabled: true, captchaRequired: true, emailCodeRequired: false, perIpPerHour: 30 });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'postgres://x/y' }, 'DATABASE_URL'],
    [{ REGISTRATION_ENABLED: 'maybe' }, 'REGISTRATION_ENABLED'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ ADMIN_USERNAME: 'root' }, 'ADMIN_USERNAME'],
    [{ INTERNAL_API_KEYS: 'short' }, 'INTERNAL_API_KEYS'],
    [{ PASSWORD_MIN_LENGTH: '7' }, 'PASSWORD_MIN_LENGTH'],
  ])('refuses %j naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${setting} `));
  });

  it('refuses test-only settings in production and requires a signing key there', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: SIGNING_KEY, CAPTCHA_FIXED_TEXT: 'abc' })).toThrow(/CAPTCHA_FIXED_TEXT/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: SIGNING_KEY, OUTBOX_FILE: '/tmp/o' })).toThrow(/OUTBOX_FILE/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_PRIVATE_KEY: SIGNING_KEY, BCRYPT_COST: '4' })).toThrow(/BCRYPT_COST/);
    const keys = { NODE_ENV: 'production', JWT_PRIVATE_KEY: SIGNING_KEY, REAL_NAME_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'), REAL_NAME_INDEX_KEY: Buffer.alloc(32, 2).toString('base64') };
    expect(() => loadConfig(keys)).toThrow(/CODE_HMAC_KEY/);
    expect(() => loadConfig({ ...keys, CODE_HMAC_KEY: 'k'.repeat(32) })).toThrow(/SMS_TRANSPORT/);
    expect(() => loadConfig({ ...keys, CODE_HMAC_KEY: 'k'.repeat(32), SMS_TRANSPORT: 'http' })).toThrow(/SMS_HTTP_URL/);
    expect(() => loadConfig({ ...keys, CODE_HMAC_KEY: 'k'.repeat(32), SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'https://sms.example.com' })).toThrow(/MAIL_TRANSPORT/);
    expect(() => loadConfig({ ...keys, CODE_HMAC_KEY: 'k'.repeat(32), SMS_TRANSPORT: 'aliyun', ALIYUN_ACCESS_KEY_ID: 'id' })).toThrow(/ALIYUN_ACCESS_KEY_SECRET/);
    expect(() => loadConfig({ SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'https://x', SMS_HTTP_HEADERS: '["a"]' })).toThrow(/SMS_HTTP_HEADERS/);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'smtp', SMTP_HOST: 'smtp.example.com' })).toThrow(/MAIL_FROM/);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'smtp', SMTP_HOST: 'smtp.example.com', MAIL_FROM: 'a@example.com', SMTP_USER: 'mailer' })).toThrow(/SMTP_PASSWORD/);
  });

  it.each([
    [{ SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'sms.example.com/send' }, 'SMS_HTTP_URL', 'must be an http(s) URL'],
    [{ SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'ftp://sms.example.com/' }, 'SMS_HTTP_URL', 'must be an http(s) URL'],
    [{ SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'https://sms.example.com', SMS_HTTP_BODY_TEMPLATE: '{"to":"{{phone}}","c":"{{ codee }}"}' }, 'SMS_HTTP_BODY_TEMPLATE', 'has unknown placeholder {{codee}}'],
    [{ SMS_TRANSPORT: 'aliyun', ALIYUN_ACCESS_KEY_ID: 'i', ALIYUN_ACCESS_KEY_SECRET: 's', ALIYUN_SMS_SIGN_NAME: 'n', ALIYUN_SMS_TEMPLATE_CODE: 't', ALIYUN_SMS_ENDPOINT: 'dysmsapi.aliyuncs.com' }, 'ALIYUN_SMS_ENDPOINT', 'must be an http(s) URL'],
  ])('refuses a gateway setting that cannot work: %j', (env, setting, message) => {
    expect(() => loadConfig(env)).toThrow(`Invalid configuration: ${setting} ${message}`);
  });

  it('accepts every documented SMS body placeholder', () => {
    const template = '{"to":"{{phone}}","code":"{{code}}","why":"{{purpose}}","text":"{{text}}"}';
    expect(loadConfig({ SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'http://127.0.0.1:8080/sms', SMS_HTTP_BODY_TEMPLATE: template }).delivery.smsHttp?.bodyTemplate).toBe(template);
  });

  it('reads a MySQL URL and keeps ADMIN_PASSWORD verbatim', () => {
    const config = loadConfig({ DATABASE_URL: 'mysql://u:p@db:3306/app', ADMIN_USERNAME: 'admin_01', ADMIN_EMAIL: 'a@example.com', ADMIN_PASSWORD: ' spaced pass ' });
    expect(config.database).toMatchObject({ driver: 'mysql', url: 'mysql://u:p@db:3306/app' });
    expect(config.admin?.password).toBe(' spaced pass ');
  });
});
