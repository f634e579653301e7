import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '../clock';
import { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv.store';
import { RedisKvStore } from './redis-kv.store';

/**
 * Keys the in-process store may evict, oldest first, when it is full: losing one only costs a
 * repeat and fails closed (a cached view is read again; a pending captcha answers CAPTCHA_INVALID,
 * and the client fetches another; a per-IP captcha list forgets which ids to push out first; the
 * webhook worker asks the database again whether any endpoint is enabled).
 * Every other key (attempt counters, locks, rate windows, revocation markers, single-use markers,
 * sign-in flows) is kept until it expires: a full store refuses new ones (503) instead.
 */
export const EVICTABLE_KEY_PREFIXES = ['user-view:', 'captcha:', 'captcha-ip:', 'webhooks:any-enabled'];

const evictable = (key: string) => EVICTABLE_KEY_PREFIXES.some((prefix) => key.startsWith(prefix));

@Global()
@Module({
  providers: [
    {
      provide: KvStore,
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock): KvStore =>
        config.redis.url
          ? new RedisKvStore(config.redis.url, config.redis.keyPrefix, config.redis.commandTimeoutMs)
          : new MemoryKvStore(clock, { ...config.memoryStore, evictable }),
    },
  ],
  exports: [KvStore],
})
export class KvModule implements OnApplicationShutdown {
  constructor(@Inject(KvStore) private readonly store: KvStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
