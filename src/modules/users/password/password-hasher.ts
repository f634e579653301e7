import { createHmac } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';

/**
 * At most one bcrypt per core at a time: more cannot finish sooner, but every extra pool thread
 * competes with the event loop for the cores, which is what other requests feel during a sign-in storm.
 */
export class CoreLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}

/**
 * bcrypt silently ignores everything past 72 bytes, and a 64-character CJK password is up to
 * 256 bytes. So we pre-hash: HMAC-SHA-256 of the NFKC form, base64 (44 ASCII bytes, no NUL),
 * then bcrypt. Sign-in runs the same steps, so one extra character always changes the result.
 * bcrypt runs on the libuv pool (native binding), never on the event loop.
 */
@Injectable()
export class PasswordHasher {
  private static readonly PREHASH_KEY = 'user-centre/password-prehash/v1';
  private dummyHash: Promise<string> | null = null;
  private readonly limiter = new CoreLimiter(availableParallelism());

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private prehash(password: string): string {
    return createHmac('sha256', PasswordHasher.PREHASH_KEY).update(password.normalize('NFKC'), 'utf8').digest('base64');
  }

  hash(password: string): Promise<string> {
    return this.limiter.run(() => bcrypt.hash(this.prehash(password), this.config.passwords.bcryptCost));
  }

  async verify(password: string, hash: string | null): Promise<boolean> {
    if (!hash) {
      await this.burnTime(password);
      return false;
    }
    return this.limiter.run(() => bcrypt.compare(this.prehash(password), hash));
  }

  /** One compare against a hash of the configured cost, so unknown accounts take as long as known ones. */
  async burnTime(password: string): Promise<void> {
    this.dummyHash ??= this.limiter.run(() => bcrypt.hash('user-centre/dummy', this.config.passwords.bcryptCost));
    const dummy = await this.dummyHash;
    await this.limiter.run(() => bcrypt.compare(this.prehash(password), dummy));
  }
}
