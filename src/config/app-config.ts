import { resolve } from 'node:path';

/**
 * Every setting the service reads, parsed and validated once at start-up.
 * A bad value throws ConfigError naming the variable; main.ts prints that one line and exits.
 */
export class ConfigError extends Error {
  constructor(readonly setting: string, problem: string) {
    super(`Invalid configuration: ${setting} ${problem}`);
  }
}

export type DatabaseConfig =
  | { driver: 'sqlite'; file: string }
  | { driver: 'mysql'; url: string };

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseConfig & { runMigrations: boolean; poolSize: number };
  redis: { url: string | null; keyPrefix: string; commandTimeoutMs: number };
  http: { trustedProxies: string[]; corsOrigins: string[]; bodyLimitBytes: number };
  tokens: {
    privateKeyPem: string | null;
    keyId: string | null;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  passwords: { bcryptCost: number; minLength: number; maxLength: number };
  registration: { enabled: boolean; key: string | null; captchaRequired: boolean; emailCodeRequired: boolean };
  passwordResetEnabled: boolean;
  login: {
    captchaAlways: boolean;
    captchaAfterFailures: number;
    lockAfterFailures: number;
    lockSeconds: number;
    maxFailuresPerHour: number;
    perIpPerMinute: number;
  };
  captcha: { ttlSeconds: number; fixedText: string | null };
  sessions: { recentAuthSeconds: number };
  admin: { username: string; email: string; password: string } | null;
  internalApiKeys: string[];
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

type Env = Record<string, string | undefined>;

class Reader {
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  /** Passwords keep their spaces: only the other settings are trimmed. */
  verbatim(name: string): string | null {
    const value = this.env[name];
    return value === undefined || value === '' ? null : value;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got "${value}")`);
    const parsed = Number(value);
    if (parsed < min || parsed > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${parsed})`);
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    throw new ConfigError(name, `must be true or false (got "${value}")`);
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${value}")`);
    return value as T;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  }
}

function readDatabase(read: Reader, dataDir: string): DatabaseConfig {
  const url = read.raw('DATABASE_URL');
  if (!url) return { driver: 'sqlite', file: resolve(dataDir, 'user-centre.sqlite') };
  if (url === 'sqlite::memory:') return { driver: 'sqlite', file: ':memory:' };
  if (url.startsWith('sqlite:')) return { driver: 'sqlite', file: resolve(url.slice('sqlite:'.length)) };
  if (/^(mysql|mariadb):\/\/[^/]+\/[^/?]+/.test(url)) return { driver: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  throw new ConfigError('DATABASE_URL', 'must look like mysql://user:pass@host:3306/db (or be unset for SQLite)');
}

function readAdmin(read: Reader): AppConfig['admin'] {
  const username = read.optional('ADMIN_USERNAME');
  const email = read.optional('ADMIN_EMAIL');
  const password = read.verbatim('ADMIN_PASSWORD');
  const given = [username, email, password].filter((value) => value !== null).length;
  if (given === 0) return null;
  if (given !== 3) throw new ConfigError('ADMIN_USERNAME', 'ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD must be set together');
  return { username: username!, email: email!, password: password! };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const read = new Reader(env);
  const nodeEnv = read.oneOf('NODE_ENV', 'development', ['development', 'production', 'test'] as const);
  const production = nodeEnv === 'production';
  const dataDir = resolve(read.string('DATA_DIR', './data'));

  const config: AppConfig = {
    env: nodeEnv,
    port: read.int('PORT', 3000, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    dataDir,
    database: {
      ...readDatabase(read, dataDir),
      runMigrations: read.bool('DB_RUN_MIGRATIONS', true),
      poolSize: read.int('DB_POOL_SIZE', 10, 1, 200),
    },
    redis: {
      url: read.optional('REDIS_URL'),
      keyPrefix: read.string('REDIS_KEY_PREFIX', 'uc:'),
      commandTimeoutMs: read.int('REDIS_TIMEOUT_MS', 1000, 50, 60000),
    },
    http: {
      trustedProxies: read.list('TRUSTED_PROXIES'),
      corsOrigins: read.list('CORS_ORIGINS'),
      bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024),
    },
    tokens: {
      privateKeyPem: read.optional('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n') ?? null,
      keyId: read.optional('JWT_KEY_ID'),
      issuer: read.string('JWT_ISSUER', 'user-centre'),
      audience: read.string('JWT_AUDIENCE', 'user-centre'),
      accessTtlSeconds: read.int('ACCESS_TOKEN_TTL', 900, 30, 24 * 3600),
      refreshTtlSeconds: read.int('REFRESH_TOKEN_TTL', 30 * 24 * 3600, 300, 365 * 24 * 3600),
    },
    passwords: {
      bcryptCost: read.int('BCRYPT_COST', 12, production ? 10 : 4, 15),
      minLength: read.int('PASSWORD_MIN_LENGTH', 8, 8, 64),
      maxLength: read.int('PASSWORD_MAX_LENGTH', 64, 12, 128),
    },
    registration: {
      enabled: read.bool('REGISTRATION_ENABLED', true),
      key: read.optional('REGISTRATION_KEY'),
      captchaRequired: read.bool('REGISTRATION_CAPTCHA', true),
      emailCodeRequired: read.bool('REGISTRATION_EMAIL_CODE', false),
    },
    passwordResetEnabled: read.bool('PASSWORD_RESET_ENABLED', true),
    login: {
      captchaAlways: read.bool('LOGIN_CAPTCHA_ALWAYS', false),
      captchaAfterFailures: read.int('LOGIN_CAPTCHA_AFTER', 3, 1, 1000),
      lockAfterFailures: read.int('LOGIN_LOCK_AFTER', 10, 1, 1000),
      lockSeconds: read.int('LOGIN_LOCK_SECONDS', 900, 1, 86400),
      maxFailuresPerHour: read.int('LOGIN_MAX_FAILURES_PER_HOUR', 100, 1, 100000),
      perIpPerMinute: read.int('LOGIN_PER_IP_PER_MINUTE', 60, 1, 100000),
    },
    captcha: {
      ttlSeconds: read.int('CAPTCHA_TTL', 300, 10, 300),
      fixedText: read.optional('CAPTCHA_FIXED_TEXT'),
    },
    sessions: { recentAuthSeconds: read.int('RECENT_AUTH_SECONDS', 3600, 60, 86400) },
    admin: readAdmin(read),
    internalApiKeys: read.list('INTERNAL_API_KEYS'),
    logLevel: read.oneOf('LOG_LEVEL', nodeEnv === 'test' ? 'warn' : 'info', ['debug', 'info', 'warn', 'error', 'silent'] as const),
  };

  if (config.passwords.minLength > config.passwords.maxLength) {
    throw new ConfigError('PASSWORD_MIN_LENGTH', 'must not be greater than PASSWORD_MAX_LENGTH');
  }
  if (production) {
    if (config.captcha.fixedText) throw new ConfigError('CAPTCHA_FIXED_TEXT', 'is for tests only and is refused when NODE_ENV=production');
    if (env.OUTBOX_FILE) throw new ConfigError('OUTBOX_FILE', 'is for tests only and is refused when NODE_ENV=production');
    if (!config.tokens.privateKeyPem) throw new ConfigError('JWT_PRIVATE_KEY', 'is required when NODE_ENV=production (a PEM RSA private key)');
  }
  for (const key of config.internalApiKeys) {
    if (key.length < 32) throw new ConfigError('INTERNAL_API_KEYS', 'each key must be at least 32 characters');
  }
  return config;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
