import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { lockAccountRow } from '@/database/account-lock';
import { AlsoWrite, inTransaction } from '@/database/transaction';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { AccountErrors } from './account.errors';
import { ApiKeyScope } from './api-key-scopes';
import { ApiKey } from './api-key.entity';

const PERSONAL_PREFIX = 'ucp_';
const DAY_MS = 86_400_000;
/** lastUsedAt is written at most this often per key, so a busy key costs no write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  expiresInDays: number;
}

/** Who a personal key acts for, and what it may do there. */
export interface ApiKeyHolder {
  userId: string;
  role: User['role'];
  keyId: string;
  scopes: ApiKeyScope[];
}

/**
 * Personal API keys: named, scoped, expiring, at most API_KEYS_PER_USER per account (expired ones
 * included: they give way, oldest first, when a new key needs the room).
 * The secret (`ucp_` + 32 random bytes) is shown once; only its SHA-256 is stored.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @InjectRepository(ApiKey) private readonly keys: Repository<ApiKey>,
    private readonly users: UsersService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Issues a key; `replacing` names keys of the same account deleted in the same transaction (the
   * deprecated single-key route replaces its "default" key). The cap is counted with the account row
   * locked (MySQL) or inside SQLite's one-at-a-time transaction, so a parallel burst cannot pass it.
   */
  async create(userId: string, input: NewApiKey, alsoWrite?: (tx: EntityManager, key: ApiKey) => Promise<void>, replacing?: { name: string }): Promise<{ key: ApiKey; secret: string }> {
    const secret = `${PERSONAL_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = new Date(this.clock.now());
    const key = Object.assign(new ApiKey(), {
      id: randomUUID(),
      userId,
      name: input.name,
      keyHash: sha256(secret),
      scopes: [...new Set(input.scopes)],
      expiresAt: new Date(now.getTime() + input.expiresInDays * DAY_MS),
      lastUsedAt: null,
      createdAt: now,
    });
    await inTransaction(this.keys.manager, async (tx) => {
      await lockAccountRow(tx, userId);
      if (replacing) await tx.delete(ApiKey, { userId, name: replacing.name });
      const held = await tx.find(ApiKey, { select: { id: true, expiresAt: true }, where: { userId }, order: { expiresAt: 'ASC', id: 'ASC' } });
      const expired = held.filter((row) => row.expiresAt.getTime() <= now.getTime());
      if (held.length - expired.length >= this.config.apiKeys.maxPerUser) throw new AppException(AccountErrors.API_KEY_LIMIT_REACHED);
      // Expired keys stay listed so their owner sees them lapse, until a new key needs their room
      // (the longest expired first): a new key every day must not grow the list without end.
      const surplus = held.length + 1 - this.config.apiKeys.maxPerUser;
      if (surplus > 0) await tx.delete(ApiKey, { id: In(expired.slice(0, surplus).map(({ id }) => id)) });
      await tx.insert(ApiKey, key);
      await alsoWrite?.(tx, key);
    });
    return { key, secret };
  }

  /** The account's keys, newest first, expired ones included (so their owner sees them lapse). */
  list(userId: string): Promise<ApiKey[]> {
    return this.keys.find({ where: { userId }, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  /** Deletes one of the account's own keys; false when there is none by that id (another account's is none). */
  async delete(userId: string, id: string, alsoWrite?: AlsoWrite): Promise<boolean> {
    return inTransaction(this.keys.manager, async (tx) => {
      const deleted = await tx.delete(ApiKey, { id, userId });
      if (!deleted.affected) return false;
      await alsoWrite?.(tx);
      return true;
    });
  }

  /** Every key of the account stops working (a new password, a reclaimed account); inside the caller's transaction. */
  async deleteAllForUser(userId: string, tx: EntityManager): Promise<number> {
    return (await tx.delete(ApiKey, { userId })).affected ?? 0;
  }

  /** The holder of a personal key, or null: unknown, expired, or its account disabled or gone. */
  async authenticate(secret: string): Promise<ApiKeyHolder | null> {
    if (!secret.startsWith(PERSONAL_PREFIX) || secret.length > 200) return null;
    const key = await this.keys.findOneBy({ keyHash: sha256(secret) });
    const now = this.clock.now();
    if (!key || key.expiresAt.getTime() <= now) return null;
    const user = await this.users.findById(key.userId);
    if (!user || user.status !== 'active') return null;
    if (!key.lastUsedAt || now - key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) await this.keys.update({ id: key.id }, { lastUsedAt: new Date(now) });
    return { userId: user.id, role: user.role, keyId: key.id, scopes: key.scopes };
  }
}
