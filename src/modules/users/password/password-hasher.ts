import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';

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

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  private prehash(password: string): string {
    return createHmac('sha256', PasswordHasher.PREHASH_KEY).update(password.normalize('NFKC'), 'utf8').digest('base64');
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(this.prehash(password), this.config.passwords.bcryptCost);
  }

  async verify(password: string, hash: string | null): Promise<boolean> {
    if (!hash) {
      await this.burnTime(password);
      return false;
    }
    return bcrypt.compare(this.prehash(password), hash);
  }

  /** One compare against a hash of the configured cost, so unknown accounts take as long as known ones. */
  async burnTime(password: string): Promise<void> {
    this.dummyHash ??= bcrypt.hash('user-centre/dummy', this.config.passwords.bcryptCost);
    await bcrypt.compare(this.prehash(password), await this.dummyHash);
  }
}
