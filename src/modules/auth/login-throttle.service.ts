import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { clientNetworkKey } from '@/common/http/client-network';
import { AttemptReservation, AttemptSlot, KvStore } from '@/common/kv/kv-store';
import { classifyIdentifier, IdentifierKind } from '@/modules/users/identity';
import { HumanCheckErrors } from '@/modules/human-check/human-check.errors';

const HOUR_MS = 3600_000;
const MINUTE_MS = 60_000;

/** One password check in progress, its attempt already counted as a failure. Exactly one of abandon/failed/succeeded ends it. */
export interface PasswordAttempt {
  /** Sign-in only: this identifier is past LOGIN_CAPTCHA_AFTER failures (or LOGIN_CAPTCHA_ALWAYS). */
  captchaRequired: boolean;
  /**
   * False when the account's own bound (its lock, or its hourly cap) is spent: the password must not
   * be compared, and sign-in answers as for a wrong one.
   */
  accountOpen: boolean;
  /** Refused before comparing (a captcha): the attempt does not count. */
  abandon(): Promise<void>;
  /** The password was wrong (or not compared): the attempt stays counted; true when it locked the identifier or the account. */
  failed(): Promise<boolean>;
  /** The password was right: the streaks end (and so the captcha requirement); the hourly cap gets its slot back. */
  succeeded(): Promise<void>;
}

/**
 * Brute-force defence for passwords. Count before compare: every attempt takes its slot in the shared
 * store (KvStore.reserveAttempts) BEFORE bcrypt runs and gives it back on success, so a parallel burst,
 * over any number of IPs and instances, is judged as if its requests had come one by one.
 *
 * One identifier's state never shows through another. Sign-in counters are kept per identifier as
 * typed (normalised: NFKC, lower case, E.164), for known and unknown identifiers alike, so the captcha
 * and the 429 lock an identifier shows depend only on the attempts made with that identifier. The
 * account's own bound (a lock after LOGIN_LOCK_AFTER failures over all its identifiers and its
 * current-password checks, and LOGIN_MAX_FAILURES_PER_HOUR) also holds, but at sign-in it answers
 * exactly as a wrong password would (same 401, same cost, the identifier's counters move the same),
 * so it tells nothing about which identifiers belong to one account.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Starts a password sign-in: refuses with 429 (Retry-After) while the client IP is over its rate
   * or the identifier is locked (or its last allowed attempts are still in flight), and with
   * CAPTCHA_REQUIRED when no captcha came and the attempts allowed without one are taken.
   */
  async beginSignIn(identifier: IdentifierKind, userId: string | null, ip: string, captchaOffered: boolean): Promise<PasswordAttempt> {
    const { captchaAlways, captchaAfterFailures, lockAfterFailures } = this.config.login;
    const id = identifierSubject(identifier);
    // Without a captcha only the slots before the captcha threshold can be had, so a burst gets
    // CAPTCHA_REQUIRED as soon as those are taken, even while they are still in flight.
    const limit = captchaOffered || captchaAlways ? lockAfterFailures : Math.min(captchaAfterFailures, lockAfterFailures);
    const slots: AttemptSlot[] = [{ key: this.streakKey(id), limit, ttlMs: HOUR_MS }, ...(userId ? this.accountSlots(userId) : [])];
    const [ipLeft, reservations, sticky] = await Promise.all([this.ipAttempts(ip), this.kv.reserveAttempts(slots), this.kv.get(this.captchaKey(id))]);
    const [streak, ...account] = reservations;
    const release = () => this.release(slots, reservations);
    if (ipLeft !== null || !streak.granted) {
      await release();
      if (ipLeft === null && streak.count < lockAfterFailures) throw new AppException(HumanCheckErrors.CAPTCHA_REQUIRED);
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: (ipLeft ?? Math.max(streak.ttlMs, 1000)) / 1000 });
    }
    return {
      captchaRequired: captchaAlways || streak.count > captchaAfterFailures || sticky !== null,
      accountOpen: account.every((slot) => slot.granted),
      abandon: release,
      failed: async () => {
        const locked = await this.lockIfFull(slots.slice(1), account);
        if (streak.count < lockAfterFailures) return locked;
        // The full streak becomes the lock; once it expires the captcha stays required for the hour, and 10 more lock again.
        await Promise.all([this.kv.expire(slots[0].key, this.config.login.lockSeconds * 1000), this.kv.set(this.captchaKey(id), '1', HOUR_MS)]);
        return true;
      },
      succeeded: async () => {
        await Promise.all([this.kv.delete(slots[0].key, this.captchaKey(id), ...(userId ? [this.accountStreakKey(userId)] : [])), ...(userId ? [this.kv.releaseAttempt(this.hourlyKey(userId))] : [])]);
      },
    };
  }

  /**
   * The client IP's sign-in budget (LOGIN_PER_IP_PER_MINUTE), shared with password sign-in: for the
   * public passkey routes, which have no identifier to count by. 429 with Retry-After when spent.
   */
  async requireIpAllowance(ip: string): Promise<void> {
    const waitMs = await this.ipAttempts(ip);
    if (waitMs !== null) throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: Math.max(waitMs, 1000) / 1000 });
  }

  /**
   * Starts a current-password check (password change, deletion, contact changes) for a signed-in
   * account: it counts towards the account's bound, and refuses with 429 while that bound is spent.
   */
  async beginCurrentPassword(userId: string): Promise<PasswordAttempt> {
    const slots = this.accountSlots(userId);
    const reservations = await this.kv.reserveAttempts(slots);
    const refused = reservations.find((slot) => !slot.granted);
    if (refused) {
      await this.release(slots, reservations);
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: Math.max(refused.ttlMs, 1000) / 1000 });
    }
    return {
      captchaRequired: false,
      accountOpen: true,
      abandon: () => this.release(slots, reservations),
      failed: () => this.lockIfFull(slots, reservations),
      succeeded: async () => {
        await Promise.all([this.kv.delete(this.accountStreakKey(userId)), this.kv.releaseAttempt(this.hourlyKey(userId))]);
      },
    };
  }

  /** After a password reset: every lock and streak of the account and of its own identifiers goes (the guesses were at the old password). */
  async clearAccount(user: { id: string; usernameKey: string; emailKey: string | null; phone: string | null }): Promise<void> {
    const identifiers = [user.usernameKey, user.emailKey, user.phone].filter((value): value is string => !!value).map((value) => identifierSubject(classifyIdentifier(value)));
    await this.kv.delete(this.accountStreakKey(user.id), this.hourlyKey(user.id), ...identifiers.flatMap((id) => [this.streakKey(id), this.captchaKey(id)]));
  }

  /** The account's bound: a streak that locks, and the hourly cap. */
  private accountSlots(userId: string): AttemptSlot[] {
    return [
      { key: this.accountStreakKey(userId), limit: this.config.login.lockAfterFailures, ttlMs: HOUR_MS },
      { key: this.hourlyKey(userId), limit: this.config.login.maxFailuresPerHour, ttlMs: HOUR_MS },
    ];
  }

  /** A failure that filled the account's streak turns it into the lock; one that filled the hourly cap is the lock until the hour ends. */
  private async lockIfFull(slots: AttemptSlot[], reservations: AttemptReservation[]): Promise<boolean> {
    if (!slots.length) return false;
    const [streak, hourly] = reservations;
    const streakFull = streak.granted && streak.count >= slots[0].limit;
    if (streakFull) await this.kv.expire(slots[0].key, this.config.login.lockSeconds * 1000);
    return streakFull || (hourly.granted && hourly.count >= slots[1].limit);
  }

  private async release(slots: AttemptSlot[], reservations: AttemptReservation[]): Promise<void> {
    await Promise.all(reservations.map((reservation, i) => (reservation.granted ? this.kv.releaseAttempt(slots[i].key) : undefined)));
  }

  private async ipAttempts(ip: string): Promise<number | null> {
    const key = `login-ip:${clientNetworkKey(ip)}`;
    const attempts = await this.kv.increment(key, MINUTE_MS);
    return attempts > this.config.login.perIpPerMinute ? await this.kv.ttl(key) : null;
  }

  private streakKey(identifier: string) {
    return `login-streak:${identifier}`;
  }

  private captchaKey(identifier: string) {
    return `login-captcha:${identifier}`;
  }

  private accountStreakKey(userId: string) {
    return `login-account:${userId}`;
  }

  private hourlyKey(userId: string) {
    return `login-hourly:${userId}`;
  }
}

/** The counter name of an identifier as typed: its kind and normalised form, whether or not an account has it. */
function identifierSubject(identifier: IdentifierKind): string {
  if (identifier.kind === 'phone') return `phone:${identifier.phone}`;
  return `${identifier.kind}:${identifier.key}`;
}
