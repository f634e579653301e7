import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';

/** The internal service keys (INTERNAL_API_KEYS) that other services send to @Internal() routes. */
@Injectable()
export class InternalKeysService {
  private readonly internalDigests: Buffer[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.internalDigests = config.internalApiKeys.map((key) => createHash('sha256').update(key).digest());
  }

  /** Constant-time comparison against every configured internal key. */
  isInternal(key: string | undefined): boolean {
    if (!key) return false;
    const digest = createHash('sha256').update(key).digest();
    let match = false;
    for (const candidate of this.internalDigests) match = timingSafeEqual(candidate, digest) || match;
    return match;
  }
}
