import { randomBytes } from 'node:crypto';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { Clock } from '@/common/clock';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { ManualClock } from '../../../test/helpers/store-with-clock';
import { DependencyUnavailableError } from '../http/error-response';
import { EVICTABLE_KEY_PREFIXES, KvModule } from './kv.module';
import { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv.store';
import { RedisKvStore } from './redis-kv.store';
import { waitForConnection } from '../../../test/helpers/redis-connection';

// Which store a server gets: the in-process one without REDIS_URL (bounded by KV_MEMORY_MAX_KEYS / _MB, on the
// app's clock, evicting only the keys whose loss costs a repeat), RedisKvStore with it; and the store closed
// when the app shuts down. The Redis round trip runs when REDIS_URL names a server (as the e2e specs do).

type StoreSettings = { redis: AppConfig['redis']; memoryStore: AppConfig['memoryStore'] };

@Injectable()
class Consumer {
  constructor(@Inject(KvStore) readonly store: KvStore) {}
}

// A module of the app that does not import KvModule: the store is global.
@Module({ providers: [Consumer] })
class ConsumerModule {}

async function build(settings: StoreSettings, clock = new ManualClock()): Promise<{ app: TestingModule; store: KvStore; clock: ManualClock }> {
  @Global()
  @Module({ providers: [{ provide: APP_CONFIG, useValue: settings }, { provide: Clock, useValue: clock }], exports: [APP_CONFIG, Clock] })
  class Basics {}
  const app = await Test.createTestingModule({ imports: [Basics, KvModule, ConsumerModule] }).compile();
  const store = app.get(KvStore);
  expect(app.get(Consumer).store).toBe(store);
  return { app, store, clock };
}

const noRedis = (memoryStore: Partial<AppConfig['memoryStore']> = {}): StoreSettings => ({
  redis: { url: null, keyPrefix: 'uc:', commandTimeoutMs: 1000 },
  memoryStore: { maxKeys: 50_000, maxBytes: 16 * 1024 * 1024, ...memoryStore },
});

describe('KvModule without REDIS_URL: the in-process store', () => {
  let app: TestingModule | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is a MemoryKvStore on the app clock, shared by every module', async () => {
    const built = await build(noRedis());
    app = built.app;
    expect(built.store).toBeInstanceOf(MemoryKvStore);
    await built.store.set('session-marker:1', 'x', 1000);
    built.clock.advance(999);
    expect(await built.store.get('session-marker:1')).toBe('x');
    built.clock.advance(1);
    expect(await built.store.get('session-marker:1')).toBeNull();
  });

  it('holds at most KV_MEMORY_MAX_KEYS keys, and refuses a new one rather than forget a counter or a lock', async () => {
    const built = await build(noRedis({ maxKeys: 3 }));
    app = built.app;
    for (const key of ['login-fail:a', 'lock:b', 'revoked:c']) await built.store.set(key, '1', 60_000);
    await expect(built.store.set('login-fail:d', '1', 60_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await built.store.getMany(['login-fail:a', 'lock:b', 'revoked:c'])).toStrictEqual(['1', '1', '1']);
  });

  it('holds at most KV_MEMORY_MAX_MB', async () => {
    const built = await build(noRedis({ maxBytes: 2048 }));
    app = built.app;
    await built.store.set('small', 'x'.repeat(100), 60_000);
    await expect(built.store.set('large', 'x'.repeat(4096), 60_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await built.store.get('small')).toBe('x'.repeat(100));
  });

  it.each(EVICTABLE_KEY_PREFIXES)('evicts %s keys, oldest first, to make room', async (prefix) => {
    const built = await build(noRedis({ maxKeys: 2 }));
    app = built.app;
    await built.store.set(`${prefix}1`, 'a', 60_000);
    await built.store.set(`${prefix}2`, 'b', 60_000);
    await built.store.set(`${prefix}3`, 'c', 60_000);
    expect(await built.store.getMany([`${prefix}1`, `${prefix}2`, `${prefix}3`])).toStrictEqual([null, 'b', 'c']);
  });

  it('evicts only keys that begin with those prefixes', async () => {
    expect(EVICTABLE_KEY_PREFIXES).toStrictEqual(['user-view:', 'captcha:', 'captcha-ip:', 'webhooks:any-enabled']);
    const built = await build(noRedis({ maxKeys: 2 }));
    app = built.app;
    // Both end with a prefix; neither begins with one, so neither may make room.
    await built.store.set('login-fail:captcha:', '1', 60_000);
    await built.store.set('lock:user-view:', '1', 60_000);
    await expect(built.store.set('captcha:1', 'a', 60_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await built.store.getMany(['login-fail:captcha:', 'lock:user-view:'])).toStrictEqual(['1', '1']);
  });

  it('closes the store when the app shuts down', async () => {
    const built = await build(noRedis());
    const close = jest.spyOn(built.store, 'close');
    await built.app.close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});

const clientOptionsOf = (store: KvStore) => (store as unknown as { client: Redis }).client.options;

describe('KvModule with REDIS_URL: RedisKvStore', () => {
  it('is a RedisKvStore on REDIS_URL with REDIS_KEY_PREFIX and REDIS_TIMEOUT_MS, whether or not Redis answers, closed at shutdown', async () => {
    // Nothing listens on port 1: the choice of store does not depend on Redis being up, and it fails closed.
    const { app, store } = await build({ redis: { url: 'redis://127.0.0.1:1/3', keyPrefix: 'uc_spec:', commandTimeoutMs: 250 }, memoryStore: noRedis().memoryStore });
    try {
      expect(store).toBeInstanceOf(RedisKvStore);
      expect(clientOptionsOf(store)).toMatchObject({ host: '127.0.0.1', port: 1, db: 3, keyPrefix: 'uc_spec:', commandTimeout: 250, connectTimeout: 250 });
      await expect(store.get('anything')).rejects.toBeInstanceOf(DependencyUnavailableError);
      const close = jest.spyOn(store, 'close');
      await app.close();
      expect(close).toHaveBeenCalledTimes(1);
    } finally {
      await store.close();
    }
  });

  (process.env.REDIS_URL ? it : it.skip)('writes under the prefix on the server REDIS_URL names, and sends nothing after shutdown', async () => {
    const prefix = `uc_test:kv-module:${randomBytes(6).toString('hex')}:`;
    const raw = new Redis(process.env.REDIS_URL!);
    const { app, store } = await build({ redis: { url: process.env.REDIS_URL!, keyPrefix: prefix, commandTimeoutMs: 5000 }, memoryStore: noRedis().memoryStore });
    try {
      await waitForConnection(store);
      await store.set('key', 'value', 60_000);
      expect(await raw.get(`${prefix}key`)).toBe('value');
      expect(await raw.pttl(`${prefix}key`)).toBeGreaterThan(55_000);
      await app.close();
      await expect(store.get('key')).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      await raw.del(`${prefix}key`);
      raw.disconnect();
      await store.close();
    }
  });
});
