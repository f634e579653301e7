import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { AttemptReservation, KvStore } from '@/common/kv/kv-store';
import { User } from '@/modules/users/user.entity';
import { MfaChallengeDto, MfaMethod } from './dto/auth.dto';

const TTL_MS = 5 * 60_000;
/** The 5th wrong answer spends the token. */
export const MFA_TOKEN_TRIES = 5;

export interface PendingSignIn {
  userId: string;
  /** How the first factor was proven (RFC 8176), e.g. ["pwd"]. */
  amr: string[];
}

/**
 * The half-finished sign-in between a first factor and the second: an opaque token in the shared
 * store (by its hash), single-use, 5 minutes, with a try counter reserved before each answer is checked.
 * It lives here because every first factor opens one; the mfa module answers it.
 */
@Injectable()
export class MfaChallenges {
  constructor(
    private readonly kv: KvStore,
    private readonly clock: Clock,
  ) {}

  /** The answer to a first factor of an account with a second one. */
  async open(user: User, amr: string[]): Promise<MfaChallengeDto> {
    const token = `mfa_${randomBytes(32).toString('base64url')}`;
    await this.kv.set(this.key(token), JSON.stringify({ userId: user.id, amr } satisfies PendingSignIn), TTL_MS);
    const methods = (user.mfaMethods ?? '').split(',').filter(Boolean) as MfaMethod[];
    return { mfaRequired: true, mfaToken: token, methods: [...methods, 'recovery_code'], expiresAt: new Date(this.clock.now() + TTL_MS).toISOString() };
  }

  async peek(token: string): Promise<PendingSignIn | null> {
    const value = await this.kv.get(this.key(token));
    return value ? (JSON.parse(value) as PendingSignIn) : null;
  }

  /**
   * Count before compare: takes one of the token's MFA_TOKEN_TRIES slots before the answer is
   * checked (atomically, across instances); `granted` false once they are all taken.
   */
  reserveTry(token: string): Promise<AttemptReservation> {
    return this.kv.reserveAttempt(`${this.key(token)}:tries`, MFA_TOKEN_TRIES, TTL_MS);
  }

  /** Of parallel right answers, exactly one gets the pending sign-in. */
  async take(token: string): Promise<PendingSignIn | null> {
    const value = await this.kv.take(this.key(token));
    return value ? (JSON.parse(value) as PendingSignIn) : null;
  }

  async spend(token: string): Promise<void> {
    await this.kv.delete(this.key(token));
  }

  private key(token: string): string {
    return `mfa-challenge:${createHash('sha256').update(token).digest('hex')}`;
  }
}
