import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';

const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;

/**
 * Brute-force defence for password sign-in, counted per account (so rotating IPs or
 * X-Forwarded-For values does not help) and per client IP. The counters live in the shared store.
 * `subject` is the account id when the identifier names one, else the normalised identifier, so
 * unknown and known identifiers are throttled alike.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Refuses with 429 + Retry-After while the subject is locked or the IP is over its rate. */
  async assertAllowed(subject: string, ip: string): Promise<void> {
    const [lockLeft, ipLeft] = await Promise.all([this.kv.ttl(this.lockKey(subject)), this.ipAttempts(ip)]);
    if (lockLeft > 0) throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: lockLeft / 1000 });
    if (ipLeft !== null) throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: ipLeft / 1000 });
  }

  /** Refuses with 429 + Retry-After while the subject is locked (the per-IP rate is sign-in's own). */
  async assertNotLocked(subject: string): Promise<void> {
    const lockLeft = await this.kv.ttl(this.lockKey(subject));
    if (lockLeft > 0) throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: lockLeft / 1000 });
  }

  async captchaRequired(subject: string): Promise<boolean> {
    if (this.config.login.captchaAlways) return true;
    const failures = Number((await this.kv.get(this.failureKey(subject))) ?? 0);
    return failures >= this.config.login.captchaAfterFailures;
  }

  /** Counts a failure; returns true when this failure locked the subject. */
  async recordFailure(subject: string): Promise<boolean> {
    const { lockAfterFailures, lockSeconds, maxFailuresPerHour } = this.config.login;
    const streak = await this.kv.increment(this.failureKey(subject), HOUR_MS);
    const hourly = await this.kv.increment(this.hourlyKey(subject), HOUR_MS);
    if (hourly >= maxFailuresPerHour) {
      await this.kv.set(this.lockKey(subject), '1', Math.max(lockSeconds * 1000, await this.kv.ttl(this.hourlyKey(subject))));
      return true;
    }
    if (streak % lockAfterFailures === 0) {
      // The streak keeps counting after the lock, so the captcha stays required and the next 10 lock again.
      await this.kv.set(this.lockKey(subject), '1', lockSeconds * 1000);
      return true;
    }
    return false;
  }

  /** A success clears the streak (and so the captcha requirement); the hourly cap keeps counting. */
  async recordSuccess(subject: string): Promise<void> {
    await this.kv.delete(this.failureKey(subject));
  }

  /** Lifts a lock and the failure streak: a locked account can still reset its password. */
  async clear(subject: string): Promise<void> {
    await this.kv.delete(this.failureKey(subject), this.lockKey(subject));
  }

  private async ipAttempts(ip: string): Promise<number | null> {
    const key = `login-ip:${ip}`;
    const attempts = await this.kv.increment(key, MINUTE_MS);
    return attempts > this.config.login.perIpPerMinute ? await this.kv.ttl(key) : null;
  }

  private failureKey(subject: string) {
    return `login-failures:${subject}`;
  }

  private hourlyKey(subject: string) {
    return `login-hourly:${subject}`;
  }

  private lockKey(subject: string) {
    return `login-lock:${subject}`;
  }
}
