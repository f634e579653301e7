import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MetricsService } from './metrics.service';

/** Route template only (never the raw URL, which may hold ids or tokens); "unmatched" when no route answered. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? 'unmatched';
}

/**
 * One access-log line and one metrics observation per answered request. The line holds the method,
 * route template, status, duration, request id and user id (when a caller signed in): never a body,
 * a query string, Authorization, X-API-Key or a cookie. It goes through the request's own pino
 * child logger (`request.log`, bound to the request id), so the id is never copied by hand.
 */
export function registerRequestObservers(fastify: FastifyInstance, metrics: MetricsService, json: boolean): void {
  // The level is fixed at start-up (LOG_LEVEL): below info, the line is not even built.
  const accessLog = (fastify.log as unknown as import('pino').Logger).isLevelEnabled('info');
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = routeOf(request);
    const ms = reply.elapsedTime;
    metrics.observeRequest(request.method, route, reply.statusCode, ms / 1000);
    if (accessLog) {
      const userId = (request as FastifyRequest & { user?: { userId?: string } }).user?.userId ?? null;
      const durationMs = Math.round(ms * 10) / 10;
      if (json) request.log.info({ context: 'Access', method: request.method, route, status: reply.statusCode, durationMs, userId });
      else request.log.info({ context: 'Access' }, `${request.method} ${route} ${reply.statusCode} ${durationMs}ms req=${String(request.id)}${userId ? ` user=${userId}` : ''}`);
    }
    done();
  });
}
