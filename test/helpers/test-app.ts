import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createConnection } from 'mysql2/promise';
import Redis from 'ioredis';
import { buildOpenApiDocument, createApp } from '@/app.setup';
import type { FastifyInstance } from 'fastify';
import { ResponseValidator } from './response-validator';
import { AppConfig, loadConfig } from '@/config/app-config';
import { KvStore } from '@/common/kv/kv-store';
import { FakeClock } from './fake-clock';
import type { CaptureLogger } from './capture-logger';

export const TEST_CAPTCHA = 'abcde';

export interface TestApp {
  app: NestFastifyApplication;
  http: ReturnType<typeof request>;
  config: AppConfig;
  clock: FakeClock;
  kv: KvStore;
  db: DataSource;
  dataDir: string;
  /** The router's table: every method and URL the app registered (HEAD twins left out). */
  routes: { method: string; url: string }[];
  /** Where the log transport writes every message (with its code) as JSON lines. */
  outbox: string;
  /** Moves time forward for the app: its clock, and every TTL in the shared store. */
  passTime(ms: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis keeps its own time, so under Redis "passing time" shortens every key's TTL by `ms`
 * (deleting those that run out): what expires is decided by the TTLs the service really set.
 */
async function shiftRedisTtls(url: string, prefix: string, ms: number): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const left = await redis.pttl(key);
        if (left < 0) continue;
        if (left <= ms) await redis.del(key);
        else await redis.pexpire(key, left - ms);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Which backends this run uses: the embedded default, or MariaDB + Redis when DATABASE_URL / REDIS_URL are set. */
export const backend = {
  mysqlUrl: process.env.DATABASE_URL?.startsWith('mysql') ? process.env.DATABASE_URL : null,
  redisUrl: process.env.REDIS_URL ?? null,
};

/** The same URL at another host:port. */
export function withAddress(url: string, address: string): string {
  const parsed = new URL(url);
  parsed.host = address;
  return parsed.toString();
}

/** A fresh MariaDB database for one test file, so files never see each other's rows. */
export async function freshMysqlDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `uc_test_${randomBytes(6).toString('hex')}`;
  const url = new URL(baseUrl);
  const admin = await createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const conn = await createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

export interface TestAppOptions {
  /** Receives everything the app logs (access lines, errors) as pino's JSON lines; LOG_LEVEL defaults to info with it. */
  logger?: CaptureLogger;
  /** Every answer is checked against the OpenAPI document unless this is false. */
  validateResponses?: boolean;
  /** Reach the fresh MariaDB database through this host:port (a fault-test proxy) instead of DATABASE_URL's. */
  databaseAddress?: string;
}

/**
 * The real application, built as main.ts builds it, on a fresh schema (migrations, not
 * synchronize) in a temporary DATA_DIR, with cheap bcrypt, a fixed captcha and a fake clock.
 */
export async function createTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-test-'));
  const mysql = backend.mysqlUrl ? await freshMysqlDatabase(backend.mysqlUrl) : null;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    BCRYPT_COST: '4',
    CAPTCHA_FIXED_TEXT: TEST_CAPTCHA,
    LOG_LEVEL: options.logger ? 'info' : 'silent',
    OUTBOX_FILE: join(dataDir, 'outbox.jsonl'),
    LOGIN_PER_IP_PER_MINUTE: '1000',
    REGISTRATION_PER_IP_PER_HOUR: '1000000',
    // Tests fetch many captchas from 127.0.0.1 before answering them: the most the setting allows; the cap's own tests set it lower.
    CAPTCHA_PER_IP: '1000',
    CODE_PER_IP_PER_HOUR: '10000',
    CODE_PER_IP_PER_DAY: '10000',
    // A loaded CI machine can stall the event loop past the 1 s production bound; tests that prove the bound set it.
    REDIS_TIMEOUT_MS: '5000',
    RATE_LIMIT_PER_MINUTE: '1000000',
    // A background purge would race the tests that pass time; the retention spec runs it by hand.
    RETENTION_INTERVAL_MINUTES: '0',
    // Webhook specs start the delivery worker or drive it by hand (WebhookWorker.drain) with the fake clock.
    WEBHOOK_WORKER: 'false',
    ...(mysql ? { DATABASE_URL: options.databaseAddress ? withAddress(mysql.url, options.databaseAddress) : mysql.url } : {}),
    ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl, REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:` } : {}),
    ...env,
  });
  const clock = new FakeClock();
  let validator: ResponseValidator | undefined;
  const routes: TestApp['routes'] = [];
  const instrumentHttp = (fastify: FastifyInstance) => {
    // Nest registers its routes after this runs, so the hook sees every one of them.
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
    });
    if (options.validateResponses === false) return;
    fastify.addHook('onSend', async (request, reply, payload) => {
      validator?.check(request.method, request.routeOptions?.url, reply.statusCode, String(reply.getHeader('content-type') ?? ''), typeof payload === 'string' ? payload : '');
      return payload;
    });
  };
  const app = await createApp(config, { clock, logDestination: options.logger, instrumentHttp }).catch(async (error: unknown) => {
    await mysql?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  if (options.validateResponses !== false) validator = new ResponseValidator(buildOpenApiDocument(app) as never);
  return {
    app,
    http: request(app.getHttpServer()),
    config,
    clock,
    kv: app.get(KvStore),
    db: app.get(DataSource),
    dataDir,
    routes,
    outbox: config.delivery.outboxFile ?? join(dataDir, 'outbox.jsonl'),
    passTime: async (ms: number) => {
      clock.advance(ms);
      if (config.redis.url) await shiftRedisTtls(config.redis.url, config.redis.keyPrefix, ms);
    },
    close: async () => {
      await app.close();
      await mysql?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      if (validator?.problems.length) {
        const unique = [...new Set(validator.problems)];
        throw new Error(`${unique.length} answer(s) do not match the OpenAPI document:\n- ${unique.slice(0, 30).join('\n- ')}`);
      }
    },
  };
}
