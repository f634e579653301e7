import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { clientNetworkKey } from '@/common/http/client-network';
import { KvStore } from '@/common/kv/kv-store';

/** A challenge lives as long as the mfaToken it may serve: 5 minutes. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** What a challenge was issued for: the ceremony it may complete, and for whom. */
export type ChallengePurpose = 'registration' | 'mfa' | 'reauth' | 'login';

export interface ChallengeBinding {
  /** The account it was issued to (every purpose but the username-less login). */
  userId?: string;
  /** purpose mfa: the hash of the mfaToken whose challenge it answers. */
  mfaTokenHash?: string;
}

interface Stored extends ChallengeBinding {
  challenge: string;
}

/**
 * Who holds a pending challenge (WEBAUTHN_PENDING_CHALLENGES): the signed-in account (registration,
 * step-up), the half-finished sign-in by its mfaToken hash (second factor), or for a username-less
 * sign-in the client's address.
 */
export type ChallengeHolder = { account: string } | { pendingSignIn: string } | { clientIp: string };

/**
 * WebAuthn challenges in the shared store (Redis when set, so any instance can finish a ceremony
 * another began): random, 5 minutes, single-use — taken atomically before the answer is verified,
 * so of two parallel uses of one challenge exactly one is verified, and a failed answer spends it
 * too. The key names the purpose, so a challenge of one ceremony never serves another. Each holder
 * keeps at most WEBAUTHN_PENDING_CHALLENGES pending (a newer one makes the oldest unanswerable): they
 * are never evicted from the in-process store, so unbounded they could fill it for everyone.
 */
@Injectable()
export class WebAuthnChallenges {
  constructor(
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A new challenge for `purpose`; `id` is what the client sends back to name it (login: a challengeId; else the challenge itself, read from clientDataJSON). */
  async issue(purpose: ChallengePurpose, binding: ChallengeBinding, holder: ChallengeHolder): Promise<{ challenge: string; id: string }> {
    const challenge = randomBytes(32).toString('base64url');
    const id = purpose === 'login' ? randomUUID() : challenge;
    const key = this.key(purpose, id);
    // Stored before it is listed: a parallel issue that pushes this one out deletes it after, never before.
    await this.kv.set(key, JSON.stringify({ challenge, ...binding } satisfies Stored), CHALLENGE_TTL_MS);
    const dropped = await this.kv.pushCapped(this.pendingKey(holder), key, this.config.mfa.pendingPasskeyChallenges, CHALLENGE_TTL_MS);
    if (dropped.length) await this.kv.delete(...dropped);
    return { challenge, id };
  }

  /** Takes (and so spends) the challenge named `id`; null when it is unknown, expired or already used. */
  async take(purpose: ChallengePurpose, id: string): Promise<Stored | null> {
    const value = await this.kv.take(this.key(purpose, id));
    return value ? (JSON.parse(value) as Stored) : null;
  }

  private key(purpose: ChallengePurpose, id: string): string {
    return `webauthn:${purpose}:${createHash('sha256').update(id).digest('hex')}`;
  }

  /** An IPv6 client by its /64, as every per-address limit counts it. */
  private pendingKey(holder: ChallengeHolder): string {
    if ('account' in holder) return `webauthn-pending:account:${holder.account}`;
    if ('pendingSignIn' in holder) return `webauthn-pending:mfa:${holder.pendingSignIn}`;
    return `webauthn-pending:network:${clientNetworkKey(holder.clientIp)}`;
  }
}

/** The challenge a browser signed, read from the response's clientDataJSON (verified later); null when unreadable. */
export function challengeOf(clientDataJSON: string): string | null {
  try {
    const parsed = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof parsed.challenge === 'string' && parsed.challenge.length > 0 && parsed.challenge.length <= 512 ? parsed.challenge : null;
  } catch {
    return null;
  }
}

export function hashMfaToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
