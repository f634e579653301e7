import { Global, Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { ReadinessService } from './readiness.service';

/** Health probes, Prometheus metrics and the global rate limit (its guard, rate-limit.ts, is registered in AppModule). */
@Global()
@Module({
  controllers: [HealthController, MetricsController],
  providers: [MetricsService, ReadinessService],
  exports: [MetricsService, ReadinessService],
})
export class OperationsModule {}
