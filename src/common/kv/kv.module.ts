import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '../clock';
import { KvStore } from './kv-store';
import { MemoryKvStore } from './memory-kv.store';
import { RedisKvStore } from './redis-kv.store';

@Global()
@Module({
  providers: [
    {
      provide: KvStore,
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock): KvStore =>
        config.redis.url
          ? new RedisKvStore(config.redis.url, config.redis.keyPrefix, config.redis.commandTimeoutMs)
          : new MemoryKvStore(clock),
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
