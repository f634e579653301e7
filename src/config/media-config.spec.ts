import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './app-config';

// loadConfig parses the key: a real one (2048-bit RSA), so the checks after it are reached.
const SIGNING_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const KEY = randomBytes(32).toString('base64');
const HEX_KEY = randomBytes(32).toString('hex');

describe('avatar and real-name settings', () => {
  it('has safe defaults', () => {
    const config = loadConfig({});
    expect(config.avatars).toEqual({ storage: 'local', maxBytes: 5 * 1024 * 1024, maxPixels: 16_777_216, uploadsPerHour: 10, s3: null });
    expect(config.realName).toEqual({ provider: 'local', encryptionKeys: [], indexKey: null, http: null, perAccountPerDay: 5, perIdNumberPerDay: 3 });
  });

  it('reads the S3 settings', () => {
    const config = loadConfig({
      AVATAR_STORAGE: 's3',
      S3_BUCKET: 'media',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_FORCE_PATH_STYLE: 'true',
      S3_PUBLIC_BASE_URL: 'https://cdn.example.com/',
    });
    expect(config.avatars.s3).toEqual({
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      bucket: 'media',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      forcePathStyle: true,
      keyPrefix: 'avatars/',
      publicBaseUrl: 'https://cdn.example.com',
      signedUrlTtlSeconds: 3600,
    });
  });

  it('reads one key or a rotation list, with the first list entry for new writes', () => {
    expect(loadConfig({ REAL_NAME_ENCRYPTION_KEY: HEX_KEY }).realName.encryptionKeys).toEqual([{ id: 'default', key: Buffer.from(HEX_KEY, 'hex') }]);
    const rotated = loadConfig({ REAL_NAME_ENCRYPTION_KEYS: `k2:${KEY}, default:${HEX_KEY}`, REAL_NAME_INDEX_KEY: KEY }).realName;
    expect(rotated.encryptionKeys.map((key) => key.id)).toEqual(['k2', 'default']);
    expect(rotated.indexKey).toEqual(Buffer.from(KEY, 'base64'));
  });

  it('reads the HTTP provider settings', () => {
    const config = loadConfig({ REAL_NAME_PROVIDER: 'http', REAL_NAME_HTTP_URL: 'https://idcheck.example.com/v1/check', REAL_NAME_HTTP_HEADERS: '{"Authorization":"APPCODE abc"}' });
    expect(config.realName.http).toEqual({ url: 'https://idcheck.example.com/v1/check', headers: { Authorization: 'APPCODE abc' }, timeoutMs: 5000 });
  });

  it.each([
    [{ AVATAR_STORAGE: 'ftp' }, 'AVATAR_STORAGE'],
    [{ AVATAR_STORAGE: 's3' }, 'S3_BUCKET'],
    [{ AVATAR_STORAGE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'id' }, 'S3_ACCESS_KEY_ID'],
    [{ AVATAR_STORAGE: 's3', S3_BUCKET: 'b', S3_ENDPOINT: 'minio:9000' }, 'S3_ENDPOINT'],
    [{ AVATAR_STORAGE: 's3', S3_BUCKET: 'b', S3_KEY_PREFIX: '../x' }, 'S3_KEY_PREFIX'],
    [{ AVATAR_MAX_BYTES: '5MB' }, 'AVATAR_MAX_BYTES'],
    [{ AVATAR_MAX_PIXELS: '0' }, 'AVATAR_MAX_PIXELS'],
    [{ REAL_NAME_ENCRYPTION_KEY: 'too-short' }, 'REAL_NAME_ENCRYPTION_KEY'],
    [{ REAL_NAME_ENCRYPTION_KEY: randomBytes(16).toString('hex') }, 'REAL_NAME_ENCRYPTION_KEY'],
    [{ REAL_NAME_ENCRYPTION_KEY: KEY, REAL_NAME_ENCRYPTION_KEYS: `a:${KEY}` }, 'REAL_NAME_ENCRYPTION_KEY'],
    [{ REAL_NAME_ENCRYPTION_KEYS: KEY }, 'REAL_NAME_ENCRYPTION_KEYS'],
    [{ REAL_NAME_ENCRYPTION_KEYS: `a:${KEY},a:${HEX_KEY}` }, 'REAL_NAME_ENCRYPTION_KEYS'],
    [{ REAL_NAME_INDEX_KEY: 'abc' }, 'REAL_NAME_INDEX_KEY'],
    [{ REAL_NAME_PROVIDER: 'http' }, 'REAL_NAME_HTTP_URL'],
    [{ REAL_NAME_PROVIDER: 'http', REAL_NAME_HTTP_URL: 'https://x', REAL_NAME_HTTP_HEADERS: '["a"]' }, 'REAL_NAME_HTTP_HEADERS'],
    [{ REAL_NAME_PER_ACCOUNT_PER_DAY: '0' }, 'REAL_NAME_PER_ACCOUNT_PER_DAY'],
    [{ REAL_NAME_PER_ID_NUMBER_PER_DAY: 'many' }, 'REAL_NAME_PER_ID_NUMBER_PER_DAY'],
  ])('refuses %j naming %s', (env, setting) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${setting} `));
  });

  it('requires real-name keys in production', () => {
    const production = { NODE_ENV: 'production', JWT_PRIVATE_KEY: SIGNING_KEY };
    expect(() => loadConfig(production)).toThrow(/REAL_NAME_ENCRYPTION_KEY/);
    expect(() => loadConfig({ ...production, REAL_NAME_ENCRYPTION_KEY: KEY })).toThrow(/REAL_NAME_INDEX_KEY/);
    const complete = { ...production, REAL_NAME_ENCRYPTION_KEY: KEY, REAL_NAME_INDEX_KEY: HEX_KEY, CODE_HMAC_KEY: 'k'.repeat(32), SMS_TRANSPORT: 'http', SMS_HTTP_URL: 'https://sms.example.com', MAIL_TRANSPORT: 'smtp', SMTP_HOST: 'smtp.example.com', MAIL_FROM: 'no-reply@example.com' };
    expect(loadConfig(complete).realName.encryptionKeys).toHaveLength(1);
  });
});
