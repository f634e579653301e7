import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { UsersService } from '@/modules/users/users.service';
import { Principal } from './principal';

const PERSONAL_PREFIX = 'ucp_';

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Personal API keys (one per user, shown once, stored as a SHA-256) and the internal service keys. */
@Injectable()
export class ApiKeysService {
  private readonly internalDigests: Buffer[];

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.internalDigests = config.internalApiKeys.map((key) => createHash('sha256').update(key).digest());
  }

  /** Issues a new personal key for the user, replacing the old one; the plain key is returned once. */
  async issuePersonal(userId: string): Promise<string> {
    const key = `${PERSONAL_PREFIX}${randomBytes(32).toString('base64url')}`;
    await this.users.setApiKeyHash(userId, sha256(key));
    return key;
  }

  async authenticatePersonal(key: string): Promise<Principal | null> {
    if (!key.startsWith(PERSONAL_PREFIX) || key.length > 200) return null;
    const user = await this.users.findByApiKeyHash(sha256(key));
    if (!user || user.status !== 'active') return null;
    return { userId: user.id, role: user.role, sessionId: null, tokenId: null, authTime: null, via: 'api-key' };
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
