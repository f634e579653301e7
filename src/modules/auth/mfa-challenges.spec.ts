import { createHash } from 'node:crypto';
import { MemoryKvStore } from '@/common/kv/memory-kv.store';
import type { User } from '@/modules/users/user.entity';
import { ManualClock, storeWithClock } from '../../../test/helpers/store-with-clock';
import { MFA_TOKEN_TRIES, MfaChallenges } from './mfa-challenges';

const FIVE_MINUTES = 5 * 60_000;
const account = (mfaMethods: string | null = 'totp') => ({ id: 'user-1', mfaMethods }) as User;
const storedKey = (token: string) => `mfa-challenge:${createHash('sha256').update(token).digest('hex')}`;

describe('MfaChallenges', () => {
  let clock: ManualClock;
  let kv: MemoryKvStore;
  let challenges: MfaChallenges;
  beforeEach(() => {
    ({ clock, kv } = storeWithClock({ start: 1_800_000_000_000 }));
    challenges = new MfaChallenges(kv, clock);
  });

  it('answers an opaque mfa_ token (32 random bytes), the account’s methods plus recovery_code, and when it ends', async () => {
    const answer = await challenges.open(account('totp,passkey'), ['pwd']);
    expect(answer).toStrictEqual({
      mfaRequired: true,
      mfaToken: expect.stringMatching(/^mfa_[A-Za-z0-9_-]{43}$/),
      methods: ['totp', 'passkey', 'recovery_code'],
      expiresAt: new Date(clock.now() + FIVE_MINUTES).toISOString(),
    });
    expect((await challenges.open(account(), ['pwd'])).mfaToken).not.toBe(answer.mfaToken);
  });

  it('lists only the methods the account has: empty parts dropped, recovery_code always', async () => {
    expect((await challenges.open(account('totp,'), ['pwd'])).methods).toStrictEqual(['totp', 'recovery_code']);
    expect((await challenges.open(account(''), ['pwd'])).methods).toStrictEqual(['recovery_code']);
    expect((await challenges.open(account(null), ['pwd'])).methods).toStrictEqual(['recovery_code']);
  });

  it('keeps the pending sign-in under the token’s SHA-256 only, for five minutes', async () => {
    const { mfaToken } = await challenges.open(account(), ['pwd', 'sms']);
    expect(await kv.get(mfaToken)).toBeNull();
    expect(JSON.parse((await kv.get(storedKey(mfaToken)))!)).toStrictEqual({ userId: 'user-1', amr: ['pwd', 'sms'] });
    expect(await kv.ttl(storedKey(mfaToken))).toBe(FIVE_MINUTES);
    expect(await challenges.peek(mfaToken)).toStrictEqual({ userId: 'user-1', amr: ['pwd', 'sms'] });
    clock.advance(FIVE_MINUTES);
    expect(await challenges.peek(mfaToken)).toBeNull();
    expect(await challenges.take(mfaToken)).toBeNull();
  });

  it('peek leaves the pending sign-in; take hands it out once; spend removes it', async () => {
    const { mfaToken } = await challenges.open(account(), ['pwd']);
    expect(await challenges.peek(mfaToken)).toStrictEqual({ userId: 'user-1', amr: ['pwd'] });
    expect(await challenges.peek(mfaToken)).toStrictEqual({ userId: 'user-1', amr: ['pwd'] });
    const taken = await Promise.all([challenges.take(mfaToken), challenges.take(mfaToken), challenges.take(mfaToken)]);
    expect(taken.filter((value) => value !== null)).toStrictEqual([{ userId: 'user-1', amr: ['pwd'] }]);
    expect(await challenges.peek(mfaToken)).toBeNull();

    const other = (await challenges.open(account(), ['pwd'])).mfaToken;
    await challenges.spend(other);
    expect(await challenges.peek(other)).toBeNull();
    expect(await challenges.take(other)).toBeNull();
  });

  it('an unknown token has nothing pending', async () => {
    expect(await challenges.peek('mfa_unknown')).toBeNull();
    expect(await challenges.take('mfa_unknown')).toBeNull();
  });

  it(`grants each token ${MFA_TOKEN_TRIES} tries, counted apart from every other token's, for five minutes`, async () => {
    expect(MFA_TOKEN_TRIES).toBe(5);
    const [first, second] = [await challenges.open(account(), ['pwd']), await challenges.open(account(), ['pwd'])].map((answer) => answer.mfaToken);
    const tries = await Promise.all(Array.from({ length: 7 }, () => challenges.reserveTry(first)));
    expect(tries.filter((reservation) => reservation.granted)).toHaveLength(5);
    expect(tries[0]).toStrictEqual({ granted: true, count: 1, ttlMs: FIVE_MINUTES });
    expect(await challenges.reserveTry(second)).toMatchObject({ granted: true, count: 1 });
    // The counter is not the pending sign-in: spending the tries leaves it, and it holds no answer.
    expect(await challenges.peek(first)).toStrictEqual({ userId: 'user-1', amr: ['pwd'] });
    expect(await kv.get(`${storedKey(first)}:tries`)).toBe('5');
  });
});
