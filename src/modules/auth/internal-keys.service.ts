import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig, InternalScope } from '@/config/app-config';

/** The internal service keys (INTERNAL_API_KEYS) that other services send to @Internal(scope) routes. */
@Injectable()
export class InternalKeysService {
  private readonly internal: { digest: Buffer; scopes: readonly InternalScope[] }[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.internal = config.internalApiKeys.map(({ key, scopes }) => ({ digest: createHash('sha256').update(key).digest(), scopes }));
  }

  /** The scopes of the matching internal key, or null when none matches; compared in constant time against every key. */
  scopesOf(key: string | undefined): readonly InternalScope[] | null {
    if (!key) return null;
    const digest = createHash('sha256').update(key).digest();
    let found: readonly InternalScope[] | null = null;
    for (const candidate of this.internal) {
      if (timingSafeEqual(candidate.digest, digest)) found = candidate.scopes;
    }
    return found;
  }
}
