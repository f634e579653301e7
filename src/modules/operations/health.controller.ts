import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipRateLimit } from './rate-limit';
import { AppException, CommonErrors } from '@/common/errors';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { Public } from '@/modules/auth/decorators';
import { LivenessDto, ReadinessDto } from './health.dto';
import { ReadinessService } from './readiness.service';

/** Served outside /api/v1 (see app.setup.ts), where orchestrators and load balancers probe. */
@ApiTags('Operations')
@Controller('health')
@SkipRateLimit()
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Public()
  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness probe', description: 'Answers 200 while the process runs; it checks no dependency, so a database outage never gets healthy instances restarted.' })
  @ApiEnvelope(LivenessDto, { description: 'The process is running' })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  @ApiOperation({
    operationId: 'getReadiness',
    summary: 'Readiness probe',
    description:
      'Checks the database (SELECT 1) and the shared store (PING), each bounded by HEALTH_TIMEOUT_MS. 503 `SERVICE_UNAVAILABLE` when either is down (`details` names which) or once shutdown has begun (`details[].field` = `shutdown`).',
  })
  @ApiEnvelope(ReadinessDto, { description: 'Ready to serve traffic' })
  @ApiErrors(CommonErrors.SERVICE_UNAVAILABLE)
  async ready(): Promise<ReadinessDto> {
    const state = await this.readiness.check();
    if (state.ready) return { status: 'ok', checks: state.checks };
    const details = Object.entries(state.checks)
      .filter(([, value]) => value === 'down')
      .map(([field]) => ({ field, message: 'down' }));
    if (state.shuttingDown) details.unshift({ field: 'shutdown', message: 'the instance is shutting down' });
    throw new AppException(CommonErrors.SERVICE_UNAVAILABLE, { details });
  }
}
