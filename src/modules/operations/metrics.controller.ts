import { timingSafeEqual, createHash } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SkipRateLimit } from './rate-limit';
import type { FastifyReply } from 'fastify';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { RawResponse } from '@/common/http/decorators';
import { ApiErrors } from '@/common/http/openapi';
import { Public } from '@/modules/auth/decorators';
import { MetricsService } from './metrics.service';

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Served outside /api/v1 (see app.setup.ts), where Prometheus scrapes. */
@ApiTags('Operations')
@Controller('metrics')
@SkipRateLimit()
export class MetricsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  /** Its own check instead of a user token: scrapers hold METRICS_TOKEN, not an account. */
  @Public()
  @Get()
  @RawResponse()
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description:
      'Prometheus text format: `http_requests_total` and `http_request_duration_seconds` by method, route template and status, `user_centre_sign_ins_total` by outcome and method, and the Node.js process metrics. With METRICS_TOKEN set it needs `Authorization: Bearer <METRICS_TOKEN>`; without it, it is open outside production and answers 404 in production.',
  })
  @ApiHeader({ name: 'Authorization', required: false, description: 'Bearer METRICS_TOKEN, when that setting is set', example: 'Bearer 3f9c1d2e8b7a4c5d6e0f1a2b3c4d5e6f' })
  @ApiResponse({ status: 200, description: 'The metrics', content: { 'text/plain': { schema: { type: 'string', example: 'http_requests_total{method="GET",route="/api/v1/users/me",status="200"} 42' } } } })
  @ApiErrors(CommonErrors.UNAUTHENTICATED, CommonErrors.NOT_FOUND)
  async get(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    const token = this.config.operations.metricsToken;
    if (!token && this.config.env === 'production') throw new AppException(CommonErrors.NOT_FOUND);
    if (token) {
      const given = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
      if (!given || !sameSecret(given, token)) throw new AppException(CommonErrors.UNAUTHENTICATED);
    }
    const { contentType, body } = await this.metrics.render();
    await reply.status(200).header('Content-Type', contentType).header('Cache-Control', 'no-store').send(body);
  }
}
