import { resolve } from 'node:path';
import type { RuntimeTuning } from '@/common/runtime-tuning';
import { parseSigningKeys } from './signing-keys';

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

export const HUMAN_CHECK_KINDS = ['image', 'pow', 'image+pow', 'provider'] as const;

export interface HumanCheckConfig {
  /** Which check the protected flows ask for (contract §9). */
  kind: (typeof HUMAN_CHECK_KINDS)[number];
  /** ALTCHA proof of work: the HMAC key that signs challenges (unset: generated into DATA_DIR outside production). */
  pow: { hmacKey: string | null; maxNumber: number; ttlSeconds: number };
  /** A siteverify-style service (Turnstile, hCaptcha, reCAPTCHA, or a gateway to GeeTest/Tencent). */
  provider: { url: string; secret: string; siteKey: string | null; timeoutMs: number } | null;
}

export interface CodesConfig {
  /** HMAC key for stored codes; null in development means "generate one into DATA_DIR". */
  hmacKey: string | null;
  ttlSeconds: number;
  maxAttempts: number;
  resendSeconds: number;
  perDestinationPerDay: number;
  perIpPerDay: number;
  perIpPerHour: number;
  /** Country calling codes SMS may be sent to, without "+". */
  smsAllowedCountryCodes: string[];
  smsDailyBudget: number;
}

export interface DeliveryConfig {
  smsTransport: 'log' | 'http' | 'aliyun';
  mailTransport: 'log' | 'smtp';
  /** Tests only: every message (with its code) is appended here as a JSON line. */
  outboxFile: string | null;
  smtp: { host: string; port: number; secure: boolean; user: string | null; password: string | null; from: string; timeoutMs: number } | null;
  smsHttp: { url: string; method: string; headers: Record<string, string>; bodyTemplate: string; timeoutMs: number } | null;
  aliyun: { accessKeyId: string; accessKeySecret: string; signName: string; templateCode: string; endpoint: string; region: string; timeoutMs: number } | null;
}

const DEFAULT_SMS_BODY = '{"phone":"{{phone}}","code":"{{code}}","purpose":"{{purpose}}","text":"{{text}}"}';

/** The placeholders HttpSmsSender fills; any other {{name}} would be sent to the gateway as it is. */
export const SMS_TEMPLATE_PLACEHOLDERS = ['phone', 'code', 'purpose', 'text'] as const;

function smsBodyTemplate(read: Reader): string {
  const template = read.string('SMS_HTTP_BODY_TEMPLATE', DEFAULT_SMS_BODY);
  const unknown = [...template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((match) => match[1]).filter((name) => !(SMS_TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown.length) {
    throw new ConfigError('SMS_HTTP_BODY_TEMPLATE', `has unknown placeholder {{${unknown[0]}}}; use ${SMS_TEMPLATE_PLACEHOLDERS.map((name) => `{{${name}}}`).join(' ')}`);
  }
  return template;
}

function readDelivery(read: Reader): DeliveryConfig {
  const smsTransport = read.oneOf('SMS_TRANSPORT', 'log', ['log', 'http', 'aliyun'] as const);
  const mailTransport = read.oneOf('MAIL_TRANSPORT', 'log', ['log', 'smtp'] as const);
  const required = (name: string, when: string) => {
    const value = read.optional(name);
    if (!value) throw new ConfigError(name, `is required when ${when}`);
    return value;
  };
  const smsTimeoutMs = read.int('SMS_TIMEOUT_MS', 5000, 100, 60000);
  let headers: Record<string, string> = {};
  const rawHeaders = read.optional('SMS_HTTP_HEADERS');
  if (rawHeaders) {
    try {
      const parsed: unknown = JSON.parse(rawHeaders);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((value) => typeof value !== 'string')) throw new Error('shape');
      headers = parsed as Record<string, string>;
    } catch {
      throw new ConfigError('SMS_HTTP_HEADERS', 'must be a JSON object of string values, e.g. {"Authorization":"Bearer ..."}');
    }
  }
  return {
    smsTransport,
    mailTransport,
    outboxFile: read.optional('OUTBOX_FILE'),
    smtp:
      mailTransport === 'smtp' && read.optional('SMTP_USER') && read.verbatim('SMTP_PASSWORD') === null
        ? (() => {
            throw new ConfigError('SMTP_PASSWORD', 'is required when SMTP_USER is set');
          })()
        : mailTransport === 'smtp'
        ? {
            host: required('SMTP_HOST', 'MAIL_TRANSPORT=smtp'),
            port: read.int('SMTP_PORT', 587, 1, 65535),
            secure: read.bool('SMTP_SECURE', false),
            user: read.optional('SMTP_USER'),
            password: read.verbatim('SMTP_PASSWORD'),
            from: required('MAIL_FROM', 'MAIL_TRANSPORT=smtp'),
            timeoutMs: read.int('SMTP_TIMEOUT_MS', 10000, 100, 120000),
          }
        : null,
    smsHttp:
      smsTransport === 'http'
        ? {
            url: read.httpUrl('SMS_HTTP_URL', required('SMS_HTTP_URL', 'SMS_TRANSPORT=http'))!,
            method: read.oneOf('SMS_HTTP_METHOD', 'POST', ['POST', 'PUT', 'GET'] as const),
            headers,
            bodyTemplate: smsBodyTemplate(read),
            timeoutMs: smsTimeoutMs,
          }
        : null,
    aliyun:
      smsTransport === 'aliyun'
        ? {
            accessKeyId: required('ALIYUN_ACCESS_KEY_ID', 'SMS_TRANSPORT=aliyun'),
            accessKeySecret: required('ALIYUN_ACCESS_KEY_SECRET', 'SMS_TRANSPORT=aliyun'),
            signName: required('ALIYUN_SMS_SIGN_NAME', 'SMS_TRANSPORT=aliyun'),
            templateCode: required('ALIYUN_SMS_TEMPLATE_CODE', 'SMS_TRANSPORT=aliyun'),
            endpoint: read.httpUrl('ALIYUN_SMS_ENDPOINT', 'https://dysmsapi.aliyuncs.com/')!,
            region: read.string('ALIYUN_SMS_REGION', 'cn-hangzhou'),
            timeoutMs: smsTimeoutMs,
          }
        : null,
  };
}

export interface AppConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  dataDir: string;
  database: DatabaseConfig & { runMigrations: boolean; poolSize: number; connectTimeoutMs: number; queryTimeoutMs: number };
  redis: { url: string | null; keyPrefix: string; commandTimeoutMs: number };
  /** The in-process store's bounds (without REDIS_URL): see MemoryKvStore. */
  memoryStore: { maxKeys: number; maxBytes: number };
  http: { trustedProxies: string[]; corsOrigins: string[]; bodyLimitBytes: number };
  tokens: {
    privateKeyPem: string | null;
    keyId: string | null;
    /** JWT_PRIVATE_KEYS: the first signs, all verify and are published (null: the single key above). */
    privateKeys: { kid: string; privateKeyPem: string }[] | null;
    /** JWT_NEXT_PUBLIC_KEY: published (and verifying) before it signs anything, so cached JWKS already know it. */
    nextPublicKey: { kid: string; publicKeyPem: string } | null;
    jwksMaxAgeSeconds: number;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /** Spent refresh tokens kept per session (the newest): a replay of one of them revokes the session. */
    spentRefreshTokensKept: number;
    /** The per-process cache of verified access tokens (JwtStrategy): most tokens, most bytes; 0 tokens turns it off. */
    verifiedCache: { maxEntries: number; maxBytes: number };
  };
  passwords: { bcryptCost: number; minLength: number; maxLength: number };
  registration: { enabled: boolean; key: string | null; captchaRequired: boolean; emailCodeRequired: boolean; perIpPerHour: number };
  passwordResetEnabled: boolean;
  login: {
    captchaAlways: boolean;
    captchaAfterFailures: number;
    lockAfterFailures: number;
    lockSeconds: number;
    maxFailuresPerHour: number;
    perIpPerMinute: number;
  };
  captcha: { ttlSeconds: number; fixedText: string | null; perIp: number };
  humanCheck: HumanCheckConfig;
  sessions: {
    recentAuthSeconds: number;
    /** REFRESH_TOKEN_COOKIE: the refresh token travels in an HttpOnly cookie instead of the JSON (refresh-cookie.ts). */
    refreshTokenCookie: boolean;
    /** Most live sessions one account holds: a sign-in past it signs out the ones idle the longest. */
    maxPerUser: number;
  };
  apiKeys: { maxPerUser: number };
  export: { maxItems: number };
  mfa: MfaConfig;
  admin: { username: string; email: string; password: string } | null;
  internalApiKeys: InternalApiKey[];
  codes: CodesConfig;
  delivery: DeliveryConfig;
  avatars: AvatarsConfig;
  realName: RealNameConfig;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  operations: OperationsConfig;
  /** Applied once by main.ts (src/common/runtime-tuning.ts). */
  runtime: RuntimeTuning;
  retention: RetentionConfig;
  federation: FederationConfig;
  webhooks: WebhooksConfig;
}

/** Signed webhooks of contract §12 (src/modules/events/webhooks). */
export interface WebhooksConfig {
  /** Runs the delivery worker (dispatch, claim, send) in this instance; tests turn it off and drive it by hand. */
  workerEnabled: boolean;
  /** How often an idle worker looks for due deliveries. */
  pollIntervalMs: number;
  /** Deliveries claimed (and sent in parallel) per round. */
  batchSize: number;
  /** Bound on one attempt: connect, send, answer. Contract: 10 s. */
  timeoutMs: number;
  /** An endpoint whose deliveries have failed without a success for this long is disabled. */
  disableAfterHours: number;
  /** Loopback, private, link-local, ULA, CGNAT and metadata addresses are refused as targets unless true. */
  allowPrivateTargets: boolean;
  /** Most endpoints (enabled or not) that may exist at once: each is fanned out to and polled for every event. */
  maxEndpoints: number;
}

export interface OidcProviderConfig {
  id: string;
  kind: 'oidc';
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
}

/** GitHub (an OAuth app); endpoints configurable for GitHub Enterprise and for tests. */
export interface GithubProviderConfig {
  id: 'github';
  kind: 'github';
  name: string;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  authorizeUrl: string;
  tokenUrl: string;
  apiUrl: string;
}

/** WeChat website sign-in (Open Platform website app, snsapi_login); endpoints configurable for tests. */
export interface WechatProviderConfig {
  id: 'wechat';
  kind: 'wechat';
  name: string;
  /** The AppID and AppSecret of the website app. */
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  apiUrl: string;
}

export type IdentityProviderConfig = OidcProviderConfig | GithubProviderConfig | WechatProviderConfig;

export interface FederationConfig {
  providers: IdentityProviderConfig[];
  /** Exact-match allow-list of where the callback may send the browser back to. */
  redirectUris: string[];
  /** The origin (and path prefix) the service is reached at; the callback URL is built from it, never from Host. */
  publicBaseUrl: string | null;
  /** Tests only: http and loopback/private issuers and endpoints. */
  allowInsecureIssuers: boolean;
}

export interface MfaConfig {
  /** Roles whose accounts must enrol a second factor: until they do, their tokens work only on /users/me/mfa* and /users/me/passkeys*. */
  requiredRoles: string[];
  /** The issuer an authenticator app shows beside the account name. */
  totpIssuer: string;
  webauthn: WebAuthnConfig;
  /** Most passkeys one account may hold: each is listed in every export, GET /users/me/mfa and every allowCredentials. */
  passkeysPerUser: number;
  /** Most pending passkey challenges per account (per client network for username-less sign-in); a newer one drops the oldest. */
  pendingPasskeyChallenges: number;
}

/** Passkeys (WebAuthn): the relying party browsers bind credentials to, and the page origins allowed to use them. */
export interface WebAuthnConfig {
  /** A registrable domain (no scheme, no port): credentials are bound to it; every origin's host is it or a subdomain of it. */
  rpId: string;
  /** The name an authenticator shows beside the account. */
  rpName: string;
  /** Exact origins (scheme://host[:port]) of the pages that call navigator.credentials; https, or http on localhost only. */
  origins: string[];
}

export interface RetentionConfig {
  /** Ended sessions (expired or revoked) and their refresh tokens are deleted this many days after ending. */
  sessionDays: number;
  /** Audit events older than this are deleted; 0 keeps them forever. */
  auditDays: number;
  /** Outbox events (contract §12) older than this are deleted. */
  eventDays: number;
  /** How often each instance runs the purge; 0: never in the server (the CLI's `purge` still works). */
  intervalMinutes: number;
  /** Rows per DELETE statement, so a large backlog never holds a table lock for long. */
  batchSize: number;
}

export interface OperationsConfig {
  /** json: one JSON object a line (default in production); text: Nest's coloured lines. */
  logFormat: 'json' | 'text';
  /** Bearer token GET /metrics requires; unset: open outside production, disabled (404) in production. */
  metricsToken: string | null;
  /** Requests per minute per client IP across all instances (0 turns the global limit off). */
  rateLimitPerMinute: number;
  /** Bound on each readiness probe (database SELECT 1, cache PING). */
  healthTimeoutMs: number;
  /** After SIGTERM the process exits within this bound even if a request is stuck. */
  shutdownTimeoutMs: number;
  /** After SIGTERM, keep serving this long with readiness 503 so load balancers stop routing here first. */
  shutdownDelayMs: number;
}

export interface S3Config {
  /** Unset: AWS itself; set for MinIO, Aliyun OSS, Qiniu and other S3-compatible services. */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** Both or neither: without them the SDK's default credential chain (env, instance role) applies. */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  forcePathStyle: boolean;
  keyPrefix: string;
  /** Set when the bucket (or a CDN in front of it) is public: avatar URLs point straight at it. */
  publicBaseUrl: string | null;
  /** Otherwise GET /avatars/{fileName} redirects to a presigned URL that lives this long. */
  signedUrlTtlSeconds: number;
}

export interface AvatarsConfig {
  storage: 'local' | 's3';
  maxBytes: number;
  maxPixels: number;
  uploadsPerHour: number;
  s3: S3Config | null;
}

export interface RealNameKey {
  id: string;
  key: Buffer;
}

export interface RealNameConfig {
  provider: 'local' | 'http';
  /** The first encrypts new records; the others only decrypt older ones. Empty: a development key in DATA_DIR. */
  encryptionKeys: RealNameKey[];
  /** HMAC key of the ID-card blind index; it must never change. Null: a development key in DATA_DIR. */
  indexKey: Buffer | null;
  http: { url: string; headers: Record<string, string>; timeoutMs: number } | null;
  /** Submissions a day per account and per ID number (each may be a paid provider call); counted before the provider is asked. */
  perAccountPerDay: number;
  perIdNumberPerDay: number;
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

  /** An http(s) URL with a host, or the fallback (null: the setting is optional). */
  httpUrl(name: string, fallback: string | null, why = ''): string | null {
    const value = this.raw(name) ?? fallback;
    if (value === null) return null;
    let url: URL | null = null;
    try {
      url = new URL(value);
    } catch {
      url = null;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname) throw new ConfigError(name, `must be an http(s) URL${why}`);
    return value;
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  }
}

function readHumanCheck(read: Reader, production: boolean): HumanCheckConfig {
  const kind = read.oneOf('HUMAN_CHECK', 'image', HUMAN_CHECK_KINDS);
  const pow = {
    hmacKey: read.optional('HUMAN_CHECK_POW_HMAC_KEY'),
    maxNumber: read.int('HUMAN_CHECK_POW_MAX_NUMBER', 100_000, 1000, 10_000_000),
    ttlSeconds: read.int('HUMAN_CHECK_POW_TTL', 300, 10, 300),
  };
  if (pow.hmacKey && pow.hmacKey.length < 32) throw new ConfigError('HUMAN_CHECK_POW_HMAC_KEY', 'must be at least 32 characters');
  if (production && kind.includes('pow') && !pow.hmacKey) throw new ConfigError('HUMAN_CHECK_POW_HMAC_KEY', `is required when NODE_ENV=production and HUMAN_CHECK=${kind} (32+ random characters)`);
  if (kind !== 'provider') return { kind, pow, provider: null };
  const url = read.httpUrl('HUMAN_CHECK_PROVIDER_URL', null, ' when HUMAN_CHECK=provider');
  if (!url) throw new ConfigError('HUMAN_CHECK_PROVIDER_URL', 'is required when HUMAN_CHECK=provider (the siteverify URL)');
  const secret = read.optional('HUMAN_CHECK_PROVIDER_SECRET');
  if (!secret) throw new ConfigError('HUMAN_CHECK_PROVIDER_SECRET', 'is required when HUMAN_CHECK=provider');
  return { kind, pow, provider: { url, secret, siteKey: read.optional('HUMAN_CHECK_PROVIDER_SITE_KEY'), timeoutMs: read.int('HUMAN_CHECK_PROVIDER_TIMEOUT_MS', 3000, 100, 30_000) } };
}

function readDatabase(read: Reader, dataDir: string): DatabaseConfig {
  const url = read.raw('DATABASE_URL');
  if (!url) return { driver: 'sqlite', file: resolve(dataDir, 'user-centre.sqlite') };
  if (url === 'sqlite::memory:') return { driver: 'sqlite', file: ':memory:' };
  if (url.startsWith('sqlite:')) return { driver: 'sqlite', file: resolve(url.slice('sqlite:'.length)) };
  if (/^(mysql|mariadb):\/\/[^/]+\/[^/?]+/.test(url)) return { driver: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  throw new ConfigError('DATABASE_URL', 'must look like mysql://user:pass@host:3306/db (or be unset for SQLite)');
}

function readS3(read: Reader): S3Config {
  const bucket = read.raw('S3_BUCKET');
  if (!bucket) throw new ConfigError('S3_BUCKET', 'is required when AVATAR_STORAGE=s3');
  const endpoint = read.optional('S3_ENDPOINT');
  if (endpoint) read.httpUrl('S3_ENDPOINT', null);
  const accessKeyId = read.optional('S3_ACCESS_KEY_ID');
  const secretAccessKey = read.verbatim('S3_SECRET_ACCESS_KEY');
  if (!!accessKeyId !== !!secretAccessKey) throw new ConfigError('S3_ACCESS_KEY_ID', 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together');
  const publicBaseUrl = read.optional('S3_PUBLIC_BASE_URL');
  if (publicBaseUrl && !/^https?:\/\/[^/\s]+/.test(publicBaseUrl)) throw new ConfigError('S3_PUBLIC_BASE_URL', 'must be an http(s) URL');
  const keyPrefix = read.string('S3_KEY_PREFIX', 'avatars/');
  if (!/^([\w.-]+\/)*$/.test(keyPrefix)) throw new ConfigError('S3_KEY_PREFIX', 'must be empty or folder names ending in "/" (letters, digits, _ . -)');
  return {
    endpoint,
    region: read.string('S3_REGION', 'us-east-1'),
    bucket,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : null,
    forcePathStyle: read.bool('S3_FORCE_PATH_STYLE', false),
    keyPrefix,
    publicBaseUrl: publicBaseUrl?.replace(/\/+$/, '') ?? null,
    signedUrlTtlSeconds: read.int('S3_SIGNED_URL_TTL', 3600, 60, 7 * 24 * 3600),
  };
}

function readAvatars(read: Reader): AvatarsConfig {
  const storage = read.oneOf('AVATAR_STORAGE', 'local', ['local', 's3'] as const);
  return {
    storage,
    maxBytes: read.int('AVATAR_MAX_BYTES', 5 * 1024 * 1024, 1024, 50 * 1024 * 1024),
    maxPixels: read.int('AVATAR_MAX_PIXELS', 16_777_216, 1024, 268_435_456),
    uploadsPerHour: read.int('AVATAR_UPLOADS_PER_HOUR', 10, 1, 10_000),
    s3: storage === 's3' ? readS3(read) : null,
  };
}

/** 32 bytes given as 64 hex digits or base64 (standard or URL-safe). */
function parseKey(setting: string, text: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : null;
  if (!key || key.length !== 32) throw new ConfigError(setting, 'must be a 32-byte key, as 64 hex digits or base64 (openssl rand -base64 32)');
  return key;
}

function readRealName(read: Reader): RealNameConfig {
  const list = read.raw('REAL_NAME_ENCRYPTION_KEYS');
  const single = read.raw('REAL_NAME_ENCRYPTION_KEY');
  if (list && single) throw new ConfigError('REAL_NAME_ENCRYPTION_KEY', 'set either REAL_NAME_ENCRYPTION_KEY or REAL_NAME_ENCRYPTION_KEYS, not both');
  const encryptionKeys: RealNameKey[] = single ? [{ id: 'default', key: parseKey('REAL_NAME_ENCRYPTION_KEY', single) }] : [];
  for (const entry of (list ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_-]{1,32}):(.+)$/.exec(entry);
    if (!match) throw new ConfigError('REAL_NAME_ENCRYPTION_KEYS', 'must be comma-separated "keyId:key" pairs (key id: 1-32 letters, digits, _ or -)');
    if (encryptionKeys.some((key) => key.id === match[1])) throw new ConfigError('REAL_NAME_ENCRYPTION_KEYS', `names key id "${match[1]}" twice`);
    encryptionKeys.push({ id: match[1], key: parseKey('REAL_NAME_ENCRYPTION_KEYS', match[2]) });
  }
  const index = read.raw('REAL_NAME_INDEX_KEY');
  const indexKey = index ? parseKey('REAL_NAME_INDEX_KEY', index) : null;
  const provider = read.oneOf('REAL_NAME_PROVIDER', 'local', ['local', 'http'] as const);
  return {
    provider,
    encryptionKeys,
    indexKey,
    http: provider === 'http' ? readRealNameHttp(read) : null,
    perAccountPerDay: read.int('REAL_NAME_PER_ACCOUNT_PER_DAY', 5, 1, 1000),
    perIdNumberPerDay: read.int('REAL_NAME_PER_ID_NUMBER_PER_DAY', 3, 1, 1000),
  };
}

function readRealNameHttp(read: Reader): RealNameConfig['http'] {
  const url = read.httpUrl('REAL_NAME_HTTP_URL', null, ' when REAL_NAME_PROVIDER=http');
  if (!url) throw new ConfigError('REAL_NAME_HTTP_URL', 'must be an http(s) URL when REAL_NAME_PROVIDER=http');
  const headersText = read.raw('REAL_NAME_HTTP_HEADERS');
  let headers: Record<string, string> = {};
  if (headersText) {
    try {
      headers = JSON.parse(headersText) as Record<string, string>;
    } catch {
      throw new ConfigError('REAL_NAME_HTTP_HEADERS', 'must be a JSON object of header names to string values');
    }
    if (!headers || typeof headers !== 'object' || Array.isArray(headers) || Object.values(headers).some((value) => typeof value !== 'string')) {
      throw new ConfigError('REAL_NAME_HTTP_HEADERS', 'must be a JSON object of header names to string values');
    }
  }
  return { url, headers, timeoutMs: read.int('REAL_NAME_HTTP_TIMEOUT_MS', 5000, 100, 60_000) };
}

/** The longest a session can live, whatever REFRESH_TOKEN_TTL says now (a revoke-all marker outlives it). */
export const MAX_REFRESH_TOKEN_TTL_SECONDS = 365 * 24 * 3600;

/** A `kid`: what JWT headers and JWKS entries carry, so printable and short. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

function keyEntries(setting: string, text: string, pemField: 'privateKey' | 'publicKey'): { kid: string; pem: string }[] {
  const shape = `a JSON ${setting === 'JWT_PRIVATE_KEYS' ? 'array of {"kid", "privateKey"}' : 'object {"kid", "publicKey"}'} with a PEM key`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(setting, `must be ${shape} (it is not valid JSON)`);
  }
  const list = setting === 'JWT_PRIVATE_KEYS' ? parsed : [parsed];
  if (!Array.isArray(list) || !list.length) throw new ConfigError(setting, `must be ${shape}, with at least one key`);
  return list.map((entry: unknown) => {
    const { kid, [pemField]: pem, ...rest } = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
    if (typeof kid !== 'string' || typeof pem !== 'string' || Object.keys(rest).length) throw new ConfigError(setting, `must be ${shape}, and nothing else`);
    if (!KEY_ID_PATTERN.test(kid)) throw new ConfigError(setting, `has kid "${kid.slice(0, 70)}": a kid is 1-64 letters, digits, ".", "_" or "-"`);
    return { kid, pem: pem.replace(/\\n/g, '\n') };
  });
}

function readSigningKeys(read: Reader): Pick<AppConfig['tokens'], 'privateKeyPem' | 'keyId' | 'privateKeys' | 'nextPublicKey'> {
  const privateKeyPem = read.optional('JWT_PRIVATE_KEY')?.replace(/\\n/g, '\n') ?? null;
  const keyId = read.optional('JWT_KEY_ID');
  const many = read.optional('JWT_PRIVATE_KEYS');
  const next = read.optional('JWT_NEXT_PUBLIC_KEY');
  // Both set would leave the operator guessing which one signs: refuse rather than silently prefer one.
  if (many && privateKeyPem) throw new ConfigError('JWT_PRIVATE_KEYS', 'replaces JWT_PRIVATE_KEY: set one of them, not both');
  if (many && keyId) throw new ConfigError('JWT_KEY_ID', 'is for JWT_PRIVATE_KEY only; each JWT_PRIVATE_KEYS entry names its own kid');
  if (keyId && !KEY_ID_PATTERN.test(keyId)) throw new ConfigError('JWT_KEY_ID', 'must be 1-64 letters, digits, ".", "_" or "-"');
  const privateKeys = many ? keyEntries('JWT_PRIVATE_KEYS', many, 'privateKey').map(({ kid, pem }) => ({ kid, privateKeyPem: pem })) : null;
  const seen = new Set<string>();
  for (const { kid } of privateKeys ?? []) {
    if (seen.has(kid)) throw new ConfigError('JWT_PRIVATE_KEYS', `names kid "${kid}" twice`);
    seen.add(kid);
  }
  const nextEntry = next ? keyEntries('JWT_NEXT_PUBLIC_KEY', next, 'publicKey')[0] : null;
  if (nextEntry && (seen.has(nextEntry.kid) || nextEntry.kid === keyId)) throw new ConfigError('JWT_NEXT_PUBLIC_KEY', `names kid "${nextEntry.kid}", which a signing key already has`);
  return { privateKeyPem, keyId, privateKeys, nextPublicKey: nextEntry && { kid: nextEntry.kid, publicKeyPem: nextEntry.pem } };
}

/** http(s) URL; https on a public host unless OAUTH_ALLOW_INSECURE_ISSUERS (tests) admits http and loopback/private hosts. */
function providerUrl(read: Reader, name: string, value: string, insecureAllowed: boolean): string {
  read.httpUrl(name, value);
  const url = new URL(value);
  const privateHost = /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|\[::1\]|\[f[cd])/i.test(url.hostname + (url.hostname.startsWith('[') ? '' : '.'));
  if (!insecureAllowed && (url.protocol !== 'https:' || privateHost)) {
    throw new ConfigError(name, 'must be an https URL on a public host (OAUTH_ALLOW_INSECURE_ISSUERS=true admits others, for tests only)');
  }
  return value.replace(/\/+$/, '');
}

function readFederation(read: Reader, production: boolean): FederationConfig {
  const allowInsecureIssuers = read.bool('OAUTH_ALLOW_INSECURE_ISSUERS', false);
  if (production && allowInsecureIssuers) throw new ConfigError('OAUTH_ALLOW_INSECURE_ISSUERS', 'is for tests only and is refused when NODE_ENV=production');
  const ids = read.list('OAUTH_PROVIDERS').map((id) => id.toLowerCase());
  const providers: IdentityProviderConfig[] = [];
  for (const id of ids) {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(id)) throw new ConfigError('OAUTH_PROVIDERS', `names "${id}"; a provider id is 1-32 lower-case letters and digits, starting with a letter`);
    if (providers.some((provider) => provider.id === id)) throw new ConfigError('OAUTH_PROVIDERS', `names "${id}" twice`);
    const prefix = `OAUTH_${id.toUpperCase()}_`;
    const required = (suffix: string) => {
      const value = suffix === 'CLIENT_SECRET' ? read.verbatim(prefix + suffix) : read.optional(prefix + suffix);
      if (!value) throw new ConfigError(prefix + suffix, `is required when OAUTH_PROVIDERS names ${id}`);
      return value;
    };
    const endpoint = (suffix: string, fallback: string) => providerUrl(read, prefix + suffix, read.optional(prefix + suffix) ?? fallback, allowInsecureIssuers);
    const secrets = { clientId: required('CLIENT_ID'), clientSecret: required('CLIENT_SECRET') };
    if (id === 'github') {
      providers.push({
        id,
        kind: 'github',
        name: read.optional(`${prefix}NAME`) ?? 'GitHub',
        ...secrets,
        scopes: (read.optional(`${prefix}SCOPES`) ?? 'read:user user:email').split(/[\s,]+/).filter(Boolean),
        authorizeUrl: endpoint('AUTHORIZE_URL', 'https://github.com/login/oauth/authorize'),
        tokenUrl: endpoint('TOKEN_URL', 'https://github.com/login/oauth/access_token'),
        apiUrl: endpoint('API_URL', 'https://api.github.com'),
      });
      continue;
    }
    if (id === 'wechat') {
      providers.push({
        id,
        kind: 'wechat',
        name: read.optional(`${prefix}NAME`) ?? 'WeChat',
        ...secrets,
        authorizeUrl: endpoint('AUTHORIZE_URL', 'https://open.weixin.qq.com/connect/qrconnect'),
        apiUrl: endpoint('API_URL', 'https://api.weixin.qq.com'),
      });
      continue;
    }
    const scopes = (read.optional(`${prefix}SCOPES`) ?? 'openid email profile').split(/[\s,]+/).filter(Boolean);
    if (!scopes.includes('openid')) throw new ConfigError(`${prefix}SCOPES`, 'must include openid');
    providers.push({
      id,
      kind: 'oidc',
      name: read.optional(`${prefix}NAME`) ?? id,
      issuer: providerUrl(read, `${prefix}ISSUER`, required('ISSUER'), allowInsecureIssuers),
      ...secrets,
      scopes,
    });
  }
  const publicBaseUrl = read.optional('PUBLIC_BASE_URL');
  if (publicBaseUrl) read.httpUrl('PUBLIC_BASE_URL', publicBaseUrl);
  if (publicBaseUrl && production && !publicBaseUrl.startsWith('https://')) throw new ConfigError('PUBLIC_BASE_URL', 'must be an https URL when NODE_ENV=production');
  const redirectUris = read.list('OAUTH_REDIRECT_URIS');
  for (const uri of redirectUris) {
    read.httpUrl('OAUTH_REDIRECT_URIS', uri, ' (each entry)');
    if (/[#]/.test(uri)) throw new ConfigError('OAUTH_REDIRECT_URIS', 'entries must not carry a #fragment');
  }
  if (providers.length) {
    if (!publicBaseUrl) throw new ConfigError('PUBLIC_BASE_URL', 'is required when OAUTH_PROVIDERS is set (the callback URL is built from it)');
    if (!redirectUris.length) throw new ConfigError('OAUTH_REDIRECT_URIS', 'is required when OAUTH_PROVIDERS is set (where the SPA may be sent back to)');
  }
  return { providers, redirectUris, publicBaseUrl: publicBaseUrl?.replace(/\/+$/, '') ?? null, allowInsecureIssuers };
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

const MFA_ROLES = ['normal_user', 'vip_user', 'creator', 'admin'];

/**
 * With the refresh cookie, CORS_ORIGINS is what a cookie request's Origin is checked against: it must
 * name exact origins (no wildcard, no path). In production each must be https: a page on plain http
 * could be altered in transit and then spend the cookie. Browsers treat http://localhost as secure,
 * so Secure cookies work there in development.
 */
function checkCookieOrigins(origins: string[], production: boolean): void {
  if (!origins.length) throw new ConfigError('CORS_ORIGINS', 'is required when REFRESH_TOKEN_COOKIE=true (the exact origins of the SPA, e.g. https://app.example.com)');
  for (const origin of origins) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = null;
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError('CORS_ORIGINS', `must list exact origins like https://app.example.com (no path, wildcard or trailing slash) when REFRESH_TOKEN_COOKIE=true (got "${origin.slice(0, 100)}")`);
    }
    if (production && parsed.protocol !== 'https:') throw new ConfigError('CORS_ORIGINS', `must list https origins when NODE_ENV=production and REFRESH_TOKEN_COOKIE=true (got "${origin.slice(0, 100)}")`);
  }
}

function readMfa(read: Reader): MfaConfig {
  const requiredRoles = read.list('MFA_REQUIRED_ROLES');
  const unknown = requiredRoles.find((role) => !MFA_ROLES.includes(role));
  if (unknown) throw new ConfigError('MFA_REQUIRED_ROLES', `must list roles among ${MFA_ROLES.join(', ')} (got "${unknown}")`);
  return {
    requiredRoles,
    totpIssuer: read.string('TOTP_ISSUER', 'User Centre'),
    webauthn: readWebAuthn(read),
    passkeysPerUser: read.int('PASSKEYS_PER_USER', 10, 1, 100),
    pendingPasskeyChallenges: read.int('WEBAUTHN_PENDING_CHALLENGES', 10, 1, 100),
  };
}

const RP_ID = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether `host` is the RP ID or a subdomain of it (WebAuthn's "registrable domain suffix" rule, without the public-suffix list). */
function hostFitsRpId(host: string, rpId: string): boolean {
  return host === rpId || host.endsWith(`.${rpId}`);
}

/** The origin of a URL string when it is exactly an origin (no path, query or credentials), else null. */
function exactOrigin(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.origin === value.replace(/\/$/, '') && (url.pathname === '/' || url.pathname === '') ? url : null;
  } catch {
    return null;
  }
}

/**
 * WEBAUTHN_RP_ID (default localhost), WEBAUTHN_RP_NAME (default TOTP_ISSUER's default), WEBAUTHN_ORIGINS
 * (default: http://localhost:PORT and the CORS_ORIGINS whose host fits the RP ID). Checked here so a
 * mistake stops the start instead of failing every passkey ceremony later.
 */
function readWebAuthn(read: Reader): WebAuthnConfig {
  const rpId = read.string('WEBAUTHN_RP_ID', 'localhost').toLowerCase();
  if (!RP_ID.test(rpId) || /^[\d.]+$/.test(rpId)) throw new ConfigError('WEBAUTHN_RP_ID', `must be a domain name without scheme or port, not an IP address (got "${rpId}")`);
  const rpName = read.string('WEBAUTHN_RP_NAME', 'User Centre');
  if (rpName.length > 64) throw new ConfigError('WEBAUTHN_RP_NAME', 'must be at most 64 characters');
  const explicit = read.list('WEBAUTHN_ORIGINS');
  const port = read.int('PORT', 3000, 0, 65535);
  const candidates = explicit.length ? explicit : [`http://localhost:${port}`, ...read.list('CORS_ORIGINS')];
  const origins: string[] = [];
  for (const value of candidates) {
    const url = exactOrigin(value);
    const local = url?.hostname === 'localhost' || !!url?.hostname.endsWith('.localhost');
    const fits = !!url && (url.protocol === 'https:' || (url.protocol === 'http:' && local)) && hostFitsRpId(url.hostname, rpId);
    if (fits) origins.push(url!.origin);
    else if (explicit.length) throw new ConfigError('WEBAUTHN_ORIGINS', `must list exact origins (https://host[:port], or http on localhost) whose host is WEBAUTHN_RP_ID "${rpId}" or a subdomain of it (got "${value}")`);
  }
  if (!origins.length) throw new ConfigError('WEBAUTHN_ORIGINS', `is required when WEBAUTHN_RP_ID is "${rpId}": list the https origins of the pages that use passkeys`);
  return { rpId, rpName, origins: [...new Set(origins)] };
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
      connectTimeoutMs: read.int('DB_CONNECT_TIMEOUT_MS', 3000, 100, 60_000),
      queryTimeoutMs: read.int('DB_QUERY_TIMEOUT_MS', 10_000, 0, 600_000),
    },
    redis: {
      url: read.optional('REDIS_URL'),
      keyPrefix: read.string('REDIS_KEY_PREFIX', 'uc:'),
      commandTimeoutMs: read.int('REDIS_TIMEOUT_MS', 1000, 50, 60000),
    },
    memoryStore: {
      maxKeys: read.int('KV_MEMORY_MAX_KEYS', 50_000, 1000, 10_000_000),
      maxBytes: read.int('KV_MEMORY_MAX_MB', 16, 1, 4096) * 1024 * 1024,
    },
    http: {
      trustedProxies: read.list('TRUSTED_PROXIES'),
      corsOrigins: read.list('CORS_ORIGINS'),
      bodyLimitBytes: read.int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 16 * 1024 * 1024),
    },
    tokens: {
      ...readSigningKeys(read),
      jwksMaxAgeSeconds: read.int('JWKS_MAX_AGE_SECONDS', 600, 0, 86_400),
      issuer: read.string('JWT_ISSUER', 'user-centre'),
      audience: read.string('JWT_AUDIENCE', 'user-centre'),
      accessTtlSeconds: read.int('ACCESS_TOKEN_TTL', 900, 30, 24 * 3600),
      refreshTtlSeconds: read.int('REFRESH_TOKEN_TTL', 30 * 24 * 3600, 300, MAX_REFRESH_TOKEN_TTL_SECONDS),
      spentRefreshTokensKept: read.int('SPENT_REFRESH_TOKENS_KEPT', 100, 1, 10_000),
      verifiedCache: {
        maxEntries: read.int('TOKEN_CACHE_MAX_ENTRIES', 10_000, 0, 1_000_000),
        maxBytes: read.int('TOKEN_CACHE_MAX_MB', 24, 1, 1024) * 1024 * 1024,
      },
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
      perIpPerHour: read.int('REGISTRATION_PER_IP_PER_HOUR', 30, 1, 1_000_000),
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
      // At most 1,000: each new captcha reads and rewrites its IP's list of pending ids, so a larger cap makes every captcha dearer.
      perIp: read.int('CAPTCHA_PER_IP', 20, 1, 1000),
    },
    humanCheck: readHumanCheck(read, production),
    sessions: {
      recentAuthSeconds: read.int('RECENT_AUTH_SECONDS', 3600, 60, 86400),
      refreshTokenCookie: read.bool('REFRESH_TOKEN_COOKIE', false),
      maxPerUser: read.int('SESSIONS_PER_USER', 100, 1, 1000),
    },
    apiKeys: { maxPerUser: read.int('API_KEYS_PER_USER', 10, 1, 100) },
    export: { maxItems: read.int('EXPORT_MAX_ITEMS', 1000, 1, 10_000) },
    mfa: readMfa(read),
    admin: readAdmin(read),
    internalApiKeys: readInternalApiKeys(read.list('INTERNAL_API_KEYS')),
    codes: {
      hmacKey: read.optional('CODE_HMAC_KEY'),
      ttlSeconds: read.int('CODE_TTL', 600, 60, 3600),
      maxAttempts: read.int('CODE_MAX_ATTEMPTS', 5, 1, 20),
      resendSeconds: read.int('CODE_RESEND_SECONDS', 60, 1, 3600),
      perDestinationPerDay: read.int('CODE_PER_DESTINATION_PER_DAY', 10, 1, 10000),
      perIpPerDay: read.int('CODE_PER_IP_PER_DAY', 100, 1, 1000000),
      perIpPerHour: read.int('CODE_PER_IP_PER_HOUR', 20, 1, 1000000),
      smsAllowedCountryCodes: read.list('SMS_ALLOWED_COUNTRY_CODES').length ? read.list('SMS_ALLOWED_COUNTRY_CODES').map((code) => code.replace(/^\+/, '')) : ['86'],
      smsDailyBudget: read.int('SMS_DAILY_BUDGET', 10000, 1, 100000000),
    },
    delivery: readDelivery(read),
    avatars: readAvatars(read),
    realName: readRealName(read),
    logLevel: read.oneOf('LOG_LEVEL', nodeEnv === 'test' ? 'warn' : 'info', ['debug', 'info', 'warn', 'error', 'silent'] as const),
    operations: {
      logFormat: read.oneOf('LOG_FORMAT', production ? 'json' : 'text', ['json', 'text'] as const),
      metricsToken: read.optional('METRICS_TOKEN'),
      rateLimitPerMinute: read.int('RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
      healthTimeoutMs: read.int('HEALTH_TIMEOUT_MS', 2000, 50, 30_000),
      shutdownTimeoutMs: read.int('SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 120_000),
      shutdownDelayMs: read.int('SHUTDOWN_DELAY_MS', 0, 0, 60_000),
    },
    runtime: {
      heapGrowingPercent: read.int('HEAP_GROWING_PERCENT', 20, 0, 300),
      threadPoolNiceness: read.int('THREADPOOL_NICENESS', 10, 0, 19),
    },
    retention: {
      sessionDays: read.int('SESSION_RETENTION_DAYS', 30, 1, 3650),
      auditDays: read.int('AUDIT_RETENTION_DAYS', 365, 0, 36_500),
      eventDays: read.int('EVENT_RETENTION_DAYS', 30, 1, 3650),
      intervalMinutes: read.int('RETENTION_INTERVAL_MINUTES', 60, 0, 7 * 24 * 60),
      batchSize: read.int('RETENTION_BATCH_SIZE', 1000, 1, 100_000),
    },
    federation: readFederation(read, production),
    webhooks: {
      workerEnabled: read.bool('WEBHOOK_WORKER', true),
      pollIntervalMs: read.int('WEBHOOK_POLL_INTERVAL_MS', 1000, 10, 60_000),
      batchSize: read.int('WEBHOOK_BATCH_SIZE', 20, 1, 500),
      timeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 10_000),
      disableAfterHours: read.int('WEBHOOK_DISABLE_AFTER_HOURS', 72, 1, 24 * 365),
      allowPrivateTargets: read.bool('WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
      maxEndpoints: read.int('WEBHOOK_MAX_ENDPOINTS', 50, 1, 1000),
    },
  };

  // The keys themselves (PEM, RSA >= 2048 bits, distinct): here, so a bad key is one line before anything starts.
  parseSigningKeys(config.tokens, null);
  if (config.passwords.minLength > config.passwords.maxLength) {
    throw new ConfigError('PASSWORD_MIN_LENGTH', 'must not be greater than PASSWORD_MAX_LENGTH');
  }
  if (production) {
    if (config.captcha.fixedText) throw new ConfigError('CAPTCHA_FIXED_TEXT', 'is for tests only and is refused when NODE_ENV=production');
    if (env.OUTBOX_FILE) throw new ConfigError('OUTBOX_FILE', 'is for tests only and is refused when NODE_ENV=production');
    if (!config.tokens.privateKeyPem && !config.tokens.privateKeys) {
      throw new ConfigError('JWT_PRIVATE_KEY', 'is required when NODE_ENV=production (a PEM RSA private key; or JWT_PRIVATE_KEYS)');
    }
  }
  if (production && !config.realName.encryptionKeys.length) {
    throw new ConfigError('REAL_NAME_ENCRYPTION_KEY', 'is required when NODE_ENV=production (32 bytes as base64 or hex; or REAL_NAME_ENCRYPTION_KEYS)');
  }
  if (production && !config.realName.indexKey) throw new ConfigError('REAL_NAME_INDEX_KEY', 'is required when NODE_ENV=production (32 bytes as base64 or hex)');
  if (production) {
    if (!config.codes.hmacKey) throw new ConfigError('CODE_HMAC_KEY', 'is required when NODE_ENV=production (32+ random characters)');
    if (config.delivery.smsTransport === 'log') throw new ConfigError('SMS_TRANSPORT', 'must name a real SMS provider (http or aliyun) when NODE_ENV=production');
    if (config.delivery.mailTransport === 'log') throw new ConfigError('MAIL_TRANSPORT', 'must be smtp when NODE_ENV=production');
  }
  if (config.operations.shutdownDelayMs >= config.operations.shutdownTimeoutMs) {
    throw new ConfigError('SHUTDOWN_DELAY_MS', 'must be shorter than SHUTDOWN_TIMEOUT_MS');
  }
  if (config.operations.metricsToken && config.operations.metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  }
  // Start-up re-marks sessions revoked within ACCESS_TOKEN_TTL + 60 s from their rows: those must outlive that.
  if (config.retention.sessionDays * 86_400 <= config.tokens.accessTtlSeconds + 60) {
    throw new ConfigError('SESSION_RETENTION_DAYS', 'must be longer than ACCESS_TOKEN_TTL + 60 seconds');
  }
  if (config.sessions.refreshTokenCookie) checkCookieOrigins(config.http.corsOrigins, production);
  for (const { key } of config.internalApiKeys) {
    if (key.length < 32) throw new ConfigError('INTERNAL_API_KEYS', 'each key must be at least 32 characters');
  }
  return config;
}

/** What an internal service key may reach: each @Internal(scope) route names one. */
export const INTERNAL_SCOPES = ['introspect', 'users:read'] as const;
export type InternalScope = (typeof INTERNAL_SCOPES)[number];
export interface InternalApiKey {
  key: string;
  scopes: readonly InternalScope[];
}

/**
 * INTERNAL_API_KEYS entries are `key` (every internal scope, as before scopes existed) or
 * `key scope scope…` (only those): a service that only introspects need not read accounts.
 */
function readInternalApiKeys(entries: string[]): InternalApiKey[] {
  return entries.map((entry) => {
    const [key, ...named] = entry.split(/\s+/);
    for (const scope of named) {
      if (!(INTERNAL_SCOPES as readonly string[]).includes(scope)) throw new ConfigError('INTERNAL_API_KEYS', `unknown scope "${scope}" (known: ${INTERNAL_SCOPES.join(', ')})`);
    }
    return { key, scopes: named.length ? (named as InternalScope[]) : INTERNAL_SCOPES };
  });
}

export const APP_CONFIG = Symbol('APP_CONFIG');
