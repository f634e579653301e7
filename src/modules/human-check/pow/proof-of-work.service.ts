import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createChallenge, extractParams, verifySolution } from 'altcha-lib/v1';
import type { Challenge } from 'altcha-lib/v1/types';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { loadOrCreateDevKey } from '@/common/dev-key';
import { KvStore } from '@/common/kv/kv-store';
import { HumanCheck, HumanCheckAnswer, HumanCheckOutcome, MAX_ALTCHA_PAYLOAD } from '../human-check.port';

/**
 * ALTCHA proof of work (altcha-lib's v1 format, what the widget reads): the client finds the
 * number whose SHA-256 with the salt gives the challenge, costing it HUMAN_CHECK_POW_MAX_NUMBER / 2
 * hashes on average and us one. A challenge is signed (HMAC), expires inside its salt, and each
 * solution is accepted once: its spent mark lives in the shared store until the challenge expires.
 */
@Injectable()
export class ProofOfWorkService implements HumanCheck {
  private key: string | null = null;

  constructor(
    private readonly kv: KvStore,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether HUMAN_CHECK asks for it; otherwise the challenge route is 404 and no key is made. */
  get enabled(): boolean {
    return this.config.humanCheck.kind.includes('pow');
  }

  private get hmacKey(): string {
    this.key ??= this.config.humanCheck.pow.hmacKey ?? loadOrCreateDevKey(this.config.dataDir, 'altcha-hmac.key', 'HUMAN_CHECK_POW_HMAC_KEY', 'HumanCheck').toString('hex');
    return this.key;
  }

  challenge(): Promise<Challenge> {
    if (!this.enabled) throw new AppException(CommonErrors.NOT_FOUND);
    const { maxNumber, ttlSeconds } = this.config.humanCheck.pow;
    return createChallenge({ hmacKey: this.hmacKey, algorithm: 'SHA-256', maxNumber, expires: new Date(this.clock.now() + ttlSeconds * 1000) });
  }

  async verify({ altcha }: HumanCheckAnswer): Promise<HumanCheckOutcome> {
    if (!altcha) return 'missing';
    if (altcha.length > MAX_ALTCHA_PAYLOAD) return 'failed';
    let payload: { algorithm?: unknown; salt?: unknown; challenge?: unknown; number?: unknown; signature?: unknown };
    try {
      payload = JSON.parse(Buffer.from(altcha, 'base64').toString('utf8'));
    } catch {
      return 'failed';
    }
    if (!payload || payload.algorithm !== 'SHA-256' || typeof payload.salt !== 'string' || typeof payload.challenge !== 'string' || typeof payload.signature !== 'string' || !Number.isSafeInteger(payload.number)) return 'failed';
    // Expiry by our clock (altcha-lib would read Date.now()); a challenge without one was never ours.
    const expiresAt = Number(extractParams(payload as never).expires) * 1000;
    const left = expiresAt - this.clock.now();
    if (!Number.isFinite(expiresAt) || left <= 0) return 'failed';
    if (!(await verifySolution(payload as never, this.hmacKey, false))) return 'failed';
    // Single use, atomically in the shared store: of parallel replays on any instance, one wins.
    const spent = `altcha-spent:${createHash('sha256').update(payload.challenge).digest('hex')}`;
    return (await this.kv.setIfAbsent(spent, '1', left + 1000)) ? 'passed' : 'failed';
  }
}
