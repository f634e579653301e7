import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from './app-config';

// loadConfig parses the key: a real one (2048-bit RSA), so the checks after it are reached.
const SIGNING_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const PRODUCTION = {
  NODE_ENV: 'production',
  JWT_PRIVATE_KEY: SIGNING_KEY,
  REAL_NAME_ENCRYPTION_KEY: 'a'.repeat(64),
  REAL_NAME_INDEX_KEY: 'b'.repeat(64),
  CODE_HMAC_KEY: 'c'.repeat(32),
  SMS_TRANSPORT: 'http',
  SMS_HTTP_URL: 'https://sms.example.com/send',
  MAIL_TRANSPORT: 'smtp',
  SMTP_HOST: 'smtp.example.com',
  MAIL_FROM: 'no-reply@example.com',
};

describe('operations settings', () => {
  it('has production-minded defaults', () => {
    expect(loadConfig({}).operations).toEqual({ logFormat: 'text', metricsToken: null, rateLimitPerMinute: 600, healthTimeoutMs: 2000, shutdownTimeoutMs: 25_000, shutdownDelayMs: 0 });
    expect(loadConfig(PRODUCTION).operations.logFormat).toBe('json');
    expect(loadConfig({ ...PRODUCTION, LOG_FORMAT: 'text' }).operations.logFormat).toBe('text');
    expect(loadConfig({}).database).toMatchObject({ connectTimeoutMs: 3000, queryTimeoutMs: 10_000 });
    expect(loadConfig({}).runtime).toEqual({ heapGrowingPercent: 20, threadPoolNiceness: 10 });
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0', THREADPOOL_NICENESS: '0' }).runtime).toEqual({ heapGrowingPercent: 0, threadPoolNiceness: 0 });
  });

  it.each([
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 16/],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, /RATE_LIMIT_PER_MINUTE/],
    [{ HEALTH_TIMEOUT_MS: '10' }, /HEALTH_TIMEOUT_MS/],
    [{ SHUTDOWN_DELAY_MS: '30000' }, /SHUTDOWN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS/],
    [{ DB_CONNECT_TIMEOUT_MS: '5' }, /DB_CONNECT_TIMEOUT_MS/],
    [{ HEAP_GROWING_PERCENT: '-5' }, /HEAP_GROWING_PERCENT/],
    [{ HEAP_GROWING_PERCENT: '1000' }, /HEAP_GROWING_PERCENT/],
    [{ THREADPOOL_NICENESS: '20' }, /THREADPOOL_NICENESS/],
    [{ THREADPOOL_NICENESS: 'low' }, /THREADPOOL_NICENESS/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
