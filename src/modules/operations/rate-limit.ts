import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerStorage } from '@nestjs/throttler';
import { AppException, CommonErrors } from '@/common/errors';
import { clientIp } from '@/common/http/decorators';
import { clientNetworkKey } from '@/common/http/client-network';
import { KvStore } from '@/common/kv/kv-store';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * @nestjs/throttler's counters kept in our KvStore: in Redis when REDIS_URL is set, so every
 * instance counts against the same budget. A fixed window of `ttl` per key; once over the limit
 * the caller waits out the rest of the window. The store failing fails the request (503).
 */
@Injectable()
export class KvThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly kv: KvStore) {}

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const name = `rate:${throttlerName}:${key}`;
    const { value: totalHits, ttlMs } = await this.kv.incrementWindow(name, ttl);
    const leftMs = ttlMs || ttl;
    const seconds = Math.max(1, Math.ceil(leftMs / 1000));
    const isBlocked = totalHits > limit;
    return { totalHits, timeToExpire: seconds, isBlocked, timeToBlockExpire: isBlocked ? seconds : 0 };
  }
}

/** The throttler with our error envelope: 429 TOO_MANY_REQUESTS and Retry-After. */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** One bucket per real client (an IPv6 client is its /64): a forged forwarded value does not open a fresh one. */
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return clientNetworkKey(clientIp(request as unknown as Parameters<typeof clientIp>[0]));
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: detail.timeToBlockExpire || detail.timeToExpire });
  }
}
