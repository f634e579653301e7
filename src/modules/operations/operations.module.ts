import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { KvStore } from '@/common/kv/kv-store';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { KvThrottlerStorage } from './rate-limit';
import { ReadinessService } from './readiness.service';

/** Health probes, Prometheus metrics and the global rate limit (its guard is registered in AppModule). */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, KvStore],
      useFactory: (config: AppConfig, kv: KvStore) => ({
        throttlers: [{ name: 'default', ttl: 60_000, limit: config.operations.rateLimitPerMinute }],
        // One budget per client IP across all routes (the default would count each route apart).
        generateKey: (_context, tracker) => `ip:${tracker}`,
        storage: new KvThrottlerStorage(kv),
      }),
    }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [MetricsService, ReadinessService],
  exports: [MetricsService, ReadinessService, ThrottlerModule],
})
export class OperationsModule {}
