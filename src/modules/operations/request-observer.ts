import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MetricsService } from './metrics.service';

/** Route template only (never the raw URL, which may hold ids or tokens); "unmatched" when no route answered. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? 'unmatched';
}

/**
 * One access-log line and one metrics observation per answered request. The line holds the method,
 * route template, status, duration, request id and user id (when a caller signed in): never a body,
 * a query string, Authorization, X-API-Key or a cookie.
 */
export function registerRequestObservers(fastify: FastifyInstance, metrics: MetricsService, json: boolean): void {
  const logger = new Logger('Access');
  fastify.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    const ms = reply.elapsedTime;
    metrics.observeRequest(request.method, route, reply.statusCode, ms / 1000);
    const userId = (request as FastifyRequest & { user?: { userId?: string } }).user?.userId ?? null;
    const line = { method: request.method, route, status: reply.statusCode, durationMs: Math.round(ms * 10) / 10, requestId: String(request.id), userId };
    if (json) logger.log(line);
    else logger.log(`${line.method} ${line.route} ${line.status} ${line.durationMs}ms req=${line.requestId}${userId ? ` user=${userId}` : ''}`);
  });
}
