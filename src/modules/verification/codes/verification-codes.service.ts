import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { MetricsService } from '@/modules/operations/metrics.service';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { clientNetworkKey } from '@/common/http/client-network';
import type { Language } from '@/common/i18n';
import { KvStore } from '@/common/kv/kv-store';
import { Channel, CodePurpose, DeliveryError, MailSender, maskDestination, OutgoingMessage, SmsSender } from '../senders/message';
import { VerificationErrors } from '../verification.errors';
import { loadCodeHmacKey } from './code-key';
import { codeMessage, NoticeKind, noticeMessage } from './messages';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface CodeRequest {
  channel: Channel;
  /** E.164 phone or normalised (lower-case) email address. */
  destination: string;
  purpose: CodePurpose;
  ip: string;
  language: Language;
  /**
   * False when the code must not reach anyone (a reset for an unknown address): every limit,
   * cooldown and answer is the same as for a real delivery, so the answer reveals nothing.
   */
  deliver: boolean;
}

export interface CodeTicket {
  /** Seconds until the code expires. */
  expiresIn: number;
  /** Seconds until another code may be requested for this destination and purpose. */
  resendAfter: number;
}

/**
 * One-time codes for SMS and email. Codes are 6 CSPRNG digits, kept only as an HMAC bound to
 * channel + destination + purpose in the shared store (so any instance can check them), valid for
 * CODE_TTL, single-use, and burned after CODE_MAX_ATTEMPTS wrong tries. Sending is limited by a
 * per-destination cooldown, daily caps per destination and per IP, an hourly cap per IP, the SMS
 * country allow-list and a global daily SMS budget.
 */
@Injectable()
export class VerificationCodesService {
  private readonly logger = new Logger('VerificationCodes');
  private readonly hmacKey: Buffer;

  constructor(
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly sms: SmsSender,
    private readonly mail: MailSender,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.hmacKey = loadCodeHmacKey(config.codes.hmacKey, config.dataDir);
  }

  /** SMS goes only to the configured country calling codes. */
  isPhoneAllowed(phone: string): boolean {
    return this.config.codes.smsAllowedCountryCodes.some((code) => phone.startsWith(`+${code}`));
  }

  async send(request: CodeRequest): Promise<CodeTicket> {
    const { codes } = this.config;
    if (request.channel === 'sms' && !this.isPhoneAllowed(request.destination)) throw new AppException(VerificationErrors.PHONE_NOT_ALLOWED);
    const scope = this.scope(request);
    const cooldownKey = `code-cooldown:${scope}`;
    if (!(await this.kv.setIfAbsent(cooldownKey, '1', codes.resendSeconds * 1000))) {
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: (await this.kv.ttl(cooldownKey)) / 1000 });
    }
    const network = clientNetworkKey(request.ip);
    const counters: { key: string; limit: number; windowMs: number }[] = [
      { key: `code-day-destination:${request.channel}:${request.destination}`, limit: codes.perDestinationPerDay, windowMs: DAY_MS },
      { key: `code-day-ip:${network}`, limit: codes.perIpPerDay, windowMs: DAY_MS },
      { key: `code-hour-ip:${network}`, limit: codes.perIpPerHour, windowMs: HOUR_MS },
      ...(request.channel === 'sms' ? [{ key: `sms-budget:${new Date(this.clock.now()).toISOString().slice(0, 10)}`, limit: codes.smsDailyBudget, windowMs: DAY_MS }] : []),
    ];
    // Every cap in one atomic step (a burst cannot pass one between another's check and count). When
    // one refuses, the slots the others granted are given back with their own windows kept: a refused
    // request spends no cap (the cooldown stays: it is still a request for this destination).
    const reservations = await this.kv.reserveAttempts(counters.map(({ key, limit, windowMs }) => ({ key, limit, ttlMs: windowMs })));
    const refused = reservations.find((reservation) => !reservation.granted);
    if (refused) {
      for (const [i, reservation] of reservations.entries()) if (reservation.granted) await this.kv.releaseAttempt(counters[i].key);
      throw new AppException(CommonErrors.TOO_MANY_REQUESTS, { retryAfterSeconds: refused.ttlMs / 1000 });
    }

    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const codeKey = `code:${scope}`;
    await this.kv.set(codeKey, this.digest(request, code), codes.ttlSeconds * 1000);
    await this.kv.delete(this.attemptsKey(scope));
    const ticket = { expiresIn: codes.ttlSeconds, resendAfter: codes.resendSeconds };
    if (!request.deliver) {
      this.metrics?.codeSent(request.channel, request.purpose, 'withheld');
      return ticket;
    }
    const message = codeMessage(code, request.purpose, request.language, Math.round(codes.ttlSeconds / 60));
    // Every code request is answered before any delivery, whatever the purpose: whether a code goes
    // out depends on accounts (reset and sign-in codes only to known destinations, sign-up and change
    // codes only to free ones), so waiting for a slow gateway would tell the two apart by time. A
    // failure after the 202 is logged (in deliver) and counted; the code is dropped, but the cooldown
    // and the caps stay spent, exactly as for a withheld code, so the next answer reveals nothing either.
    void this.deliver({ channel: request.channel, to: request.destination, purpose: request.purpose, code, language: request.language, ...message }).then(
      () => this.metrics?.codeSent(request.channel, request.purpose, 'sent'),
      async () => {
        this.metrics?.codeSent(request.channel, request.purpose, 'failed');
        await this.kv.delete(codeKey).catch(() => undefined);
      },
    );
    return ticket;
  }

  /**
   * Spends a code. Count before compare: each try takes one of CODE_MAX_ATTEMPTS slots atomically
   * (KvStore.reserveAttempt) BEFORE the code is compared, so of a parallel burst (on any number of
   * instances) at most that many are ever compared and the next is refused while the first ones are
   * still in flight. A right code still needs the one `take` that removes the stored digest, so it is
   * single-use; the wrong try that fills the last slot burns the code.
   */
  async consume(request: Pick<CodeRequest, 'channel' | 'destination' | 'purpose'>, code: string | undefined): Promise<void> {
    const scope = this.scope(request);
    const codeKey = `code:${scope}`;
    const stored = await this.kv.get(codeKey);
    if (stored === null) throw new AppException(VerificationErrors.CODE_EXPIRED);
    const { maxAttempts, ttlSeconds } = this.config.codes;
    // The series lives as long as a code can (send() starts a new one with each code).
    const attempt = await this.kv.reserveAttempt(this.attemptsKey(scope), maxAttempts, ttlSeconds * 1000);
    if (!attempt.granted) throw new AppException(VerificationErrors.CODE_EXPIRED);
    const expected = Buffer.from(stored, 'hex');
    const given = Buffer.from(this.digest(request, String(code ?? '')), 'hex');
    if (typeof code === 'string' && /^\d{6}$/.test(code) && timingSafeEqual(expected, given)) {
      if ((await this.kv.take(codeKey)) === stored) return;
      throw new AppException(VerificationErrors.CODE_EXPIRED);
    }
    // The counter stays full until the code's time is up, so nothing compares against this code again.
    if (attempt.count >= maxAttempts) await this.kv.delete(codeKey);
    throw new AppException(VerificationErrors.CODE_INVALID);
  }

  /** Drops every pending code for these destinations (after a password change or reset). */
  async forget(destinations: { channel: Channel; destination: string }[]): Promise<void> {
    const keys: string[] = [];
    for (const { channel, destination } of destinations) {
      const purposes: readonly CodePurpose[] = channel === 'sms' ? ['register', 'login', 'reset_password', 'change_phone'] : ['register', 'reset_password', 'change_email', 'verify_email'];
      for (const purpose of purposes) keys.push(`code:${this.scope({ channel, destination, purpose })}`);
    }
    await this.kv.delete(...keys);
  }

  /** A security notice without a code; a failed notice is logged, never fatal to the action that caused it. */
  async notify(to: { channel: Channel; destination: string }, kind: NoticeKind, language: Language): Promise<void> {
    try {
      await this.deliver({ channel: to.channel, to: to.destination, purpose: 'notice', code: null, language, ...noticeMessage(kind, language) });
    } catch (error) {
      this.logger.warn(`Notice ${kind} to ${maskDestination(to.destination)} failed: ${(error as Error).message}`);
    }
  }

  private async deliver(message: OutgoingMessage): Promise<void> {
    try {
      await (message.channel === 'sms' ? this.sms : this.mail).send(message);
    } catch (error) {
      const reason = error instanceof DeliveryError ? error.message : 'transport error';
      this.logger.warn(`Delivery of ${message.channel} purpose=${message.purpose} to ${maskDestination(message.to)} failed: ${reason}`);
      throw new AppException(VerificationErrors.DELIVERY_FAILED);
    }
  }

  private attemptsKey(scope: string): string {
    return `code-attempts:${scope}`;
  }

  private scope(request: Pick<CodeRequest, 'channel' | 'destination' | 'purpose'>): string {
    return `${request.channel}:${request.purpose}:${request.destination}`;
  }

  private digest(request: Pick<CodeRequest, 'channel' | 'destination' | 'purpose'>, code: string): string {
    return createHmac('sha256', this.hmacKey).update(`${this.scope(request)}:${code}`).digest('hex');
  }
}
