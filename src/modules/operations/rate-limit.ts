import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { clientIp } from '@/common/http/decorators';
import { clientNetworkKey } from '@/common/http/client-network';
import { KvStore } from '@/common/kv/kv-store';

const SKIP_RATE_LIMIT = 'rate-limit:skip';
/** A fixed window: a client's budget refills all at once, a minute after its first request of the window. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Keeps a route (or every route of a controller) out of the global rate limit: health probes and metrics. */
export const SkipRateLimit = (): MethodDecorator & ClassDecorator => SetMetadata(SKIP_RATE_LIMIT, true);

/**
 * The global per-client budget (RATE_LIMIT_PER_MINUTE), one across all routes, counted in the KvStore
 * (Redis when set, so every instance draws on the same budget). Past it: 429 TOO_MANY_REQUESTS with
 * Retry-After, until the window ends. The store failing fails the request (503).
 *
 * Our own guard rather than @nestjs/throttler's: that one re-read six metadata keys, awaited seven
 * times and set three X-RateLimit-* headers on every request, 3% of a GET /users/me's CPU for one
 * counter (docs/performance.md). One client is its address, an IPv6 client its /64, so a forged
 * forwarded value (from anyone but TRUSTED_PROXIES) does not open a fresh budget.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limit: number;
  /** Whether a route skips the limit, read from its metadata once (keyed by class, then handler, as the auth guard does). */
  private readonly skipsByRoute = new WeakMap<object, WeakMap<object, boolean>>();

  constructor(
    private readonly kv: KvStore,
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.operations.rateLimitPerMinute;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.skips(context)) return true;
    const client = clientNetworkKey(clientIp(context.switchToHttp().getRequest<FastifyRequest>()));
    const { value, ttlMs } = await this.kv.incrementWindow(`rate:default:ip:${client}`, RATE_LIMIT_WINDOW_MS);
    if (value <= this.limit) return true;
    throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: Math.max(1, Math.ceil((ttlMs || RATE_LIMIT_WINDOW_MS) / 1000)) });
  }

  private skips(context: ExecutionContext): boolean {
    const [handler, controller] = [context.getHandler(), context.getClass()];
    let byHandler = this.skipsByRoute.get(controller);
    if (!byHandler) this.skipsByRoute.set(controller, (byHandler = new WeakMap()));
    let skip = byHandler.get(handler);
    if (skip === undefined) {
      skip = this.reflector.getAllAndOverride<boolean | undefined>(SKIP_RATE_LIMIT, [handler, controller]) === true;
      byHandler.set(handler, skip);
    }
    return skip;
  }
}
