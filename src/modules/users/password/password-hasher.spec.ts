import { availableParallelism } from 'node:os';
import type { AppConfig } from '@/config/app-config';
import { CoreLimiter, PasswordHasher } from './password-hasher';

const config = { passwords: { bcryptCost: 4 } } as AppConfig;

describe('CoreLimiter', () => {
  it('runs at most `limit` tasks at once, in arrival order, and finishes them all', async () => {
    const limiter = new CoreLimiter(2);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      if (i === 3) throw new Error('task 3 fails');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5, 6].map((i) => limiter.run(task(i))));
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    // A failed task frees its slot too: the limiter is idle again.
    expect(await limiter.run(async () => 'idle')).toBe('idle');
  });
});

describe('PasswordHasher', () => {
  it('sends every bcrypt (hash, compare, the dummy compare for unknown accounts) through a one-per-core limiter', async () => {
    const hasher = new PasswordHasher(config);
    const limiter = (hasher as unknown as { limiter: CoreLimiter }).limiter;
    expect((limiter as unknown as { limit: number }).limit).toBe(availableParallelism());
    const run = jest.spyOn(limiter, 'run');
    const hash = await hasher.hash('violet sunrise 42');
    expect(run).toHaveBeenCalledTimes(1);
    expect(await hasher.verify('violet sunrise 42', hash)).toBe(true);
    expect(run).toHaveBeenCalledTimes(2);
    expect(await hasher.verify('violet sunrise 42', null)).toBe(false);
    expect(run).toHaveBeenCalledTimes(4); // the dummy hash, once, and its compare
    // Both are real bcrypt work of the configured cost: the dummy hash, and a compare against it that fails.
    expect(await run.mock.results[2].value).toMatch(/^\$2b\$04\$/);
    expect(await run.mock.results[3].value).toBe(false);
  });

  it('accepts the right password and refuses a wrong one', async () => {
    const hasher = new PasswordHasher(config);
    const hash = await hasher.hash('violet sunrise 42');
    expect(await hasher.verify('violet sunrise 42', hash)).toBe(true);
    expect(await hasher.verify('violet sunrise 43', hash)).toBe(false);
  });
});

describe('PasswordHasher compatibility', () => {
  it('verifies a hash stored by an earlier release: the pre-hash (HMAC key v1, NFKC) never changes silently', async () => {
    // Made by the v1 scheme for "ｃｏｒｒｅｃｔ horse 密码 battery" (full-width letters NFKC-fold to ASCII).
    const stored = '$2b$04$u5i4k3vzS0.ec4G99a/ch.CSvICrAmXT7Kzb31j9CiUNnLsIBkZSi';
    const hasher = new PasswordHasher(config);
    expect(await hasher.verify('correct horse 密码 battery', stored)).toBe(true);
    expect(await hasher.verify('correct horse 密码 batter', stored)).toBe(false);
  });
});
