import { ManualClock, storeWithClock } from '../../../test/helpers/store-with-clock';
import { DependencyUnavailableError } from '../http/error-response';
import { entryCost, MemoryKvStore } from './memory-kv.store';

describe('MemoryKvStore', () => {
  let clock: ManualClock;
  let store: MemoryKvStore;
  beforeEach(() => {
    ({ clock, kv: store } = storeWithClock({ start: 1_000_000 }));
  });

  it('setMax keeps the larger number and its expiry; a smaller one changes nothing', async () => {
    expect(await store.setMax('cut', 500, 1000)).toBe(500);
    expect(await store.setMax('cut', 400, 5000)).toBe(500);
    expect(await store.ttl('cut')).toBe(1000);
    expect(await store.setMax('cut', 600, 2000)).toBe(600);
    expect(await store.ttl('cut')).toBe(2000);
    clock.advance(2000);
    expect(await store.setMax('cut', 100, 1000)).toBe(100); // an expired value no longer counts
  });

  it('expires keys by the clock', async () => {
    await store.set('k', 'v', 1000);
    clock.advance(999);
    expect(await store.get('k')).toBe('v');
    expect(await store.ttl('k')).toBe(1);
    clock.advance(1);
    expect(await store.get('k')).toBeNull();
  });

  it('lets exactly one of many parallel takers see a value', async () => {
    await store.set('once', 'secret', 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take('once')));
    expect(results.filter((value) => value === 'secret')).toHaveLength(1);
  });

  it('counts with an expiry set when the counter starts', async () => {
    expect(await store.increment('c', 1000)).toBe(1);
    clock.advance(600);
    expect(await store.increment('c', 1000)).toBe(2);
    clock.advance(400);
    expect(await store.increment('c', 1000)).toBe(1);
  });

  it('counts a window and tells how long it has left, in one call', async () => {
    expect(await store.incrementWindow('w', 1000)).toEqual({ value: 1, ttlMs: 1000 });
    clock.advance(600);
    expect(await store.incrementWindow('w', 1000)).toEqual({ value: 2, ttlMs: 400 });
    clock.advance(400);
    expect(await store.incrementWindow('w', 1000)).toEqual({ value: 1, ttlMs: 1000 });
  });

  it('sets only when absent', async () => {
    expect(await store.setIfAbsent('cool', '1', 1000)).toBe(true);
    expect(await store.setIfAbsent('cool', '1', 1000)).toBe(false);
    clock.advance(1000);
    expect(await store.setIfAbsent('cool', '1', 1000)).toBe(true);
  });

  it('reserves attempts before the caller compares: of 300 parallel callers exactly `limit` get a slot', async () => {
    const answers = await Promise.all(Array.from({ length: 300 }, () => store.reserveAttempt('tries', 5, 1000)));
    expect(answers.filter((answer) => answer.granted).map((answer) => answer.count).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(answers.filter((answer) => !answer.granted).every((answer) => answer.count === 5 && answer.ttlMs === 1000)).toBe(true);
    expect(await store.get('tries')).toBe('5');
  });

  it('gives a slot back, keeps the expiry, and starts a new series once the counter expires', async () => {
    await store.reserveAttempt('tries', 2, 1000);
    await store.reserveAttempt('tries', 2, 1000);
    expect((await store.reserveAttempt('tries', 2, 1000)).granted).toBe(false);
    clock.advance(400);
    await store.releaseAttempt('tries');
    expect(await store.reserveAttempt('tries', 2, 1000)).toEqual({ granted: true, count: 2, ttlMs: 600 });
    await store.expire('tries', 50);
    clock.advance(50);
    expect(await store.reserveAttempt('tries', 2, 1000)).toEqual({ granted: true, count: 1, ttlMs: 1000 });
    await store.releaseAttempt('tries');
    await store.releaseAttempt('tries');
    expect(await store.get('tries')).toBe('0');
  });

  it('reserves several independent series in one step', async () => {
    await store.reserveAttempt('b', 1, 1000);
    expect(await store.reserveAttempts([{ key: 'a', limit: 1, ttlMs: 1000 }, { key: 'b', limit: 1, ttlMs: 1000 }])).toEqual([
      { granted: true, count: 1, ttlMs: 1000 },
      { granted: false, count: 1, ttlMs: 1000 },
    ]);
  });
  it('reads several keys at once, null for the missing and the expired', async () => {
    await store.set('a', '1', 1000);
    await store.set('b', '2', 500);
    clock.advance(500);
    expect(await store.getMany(['a', 'b', 'c'])).toEqual(['1', null, null]);
    expect(await store.get('b')).toBeNull();
  });

  it('take answers null for a missing or expired key, and removes a live one', async () => {
    expect(await store.take('none')).toBeNull();
    await store.set('gone', 'v', 100);
    clock.advance(100);
    expect(await store.take('gone')).toBeNull();
    await store.set('live', 'v', 100);
    expect(await store.take('live')).toBe('v');
    expect(await store.get('live')).toBeNull();
  });

  it('deletes every key named', async () => {
    await store.set('a', '1', 1000);
    await store.set('b', '2', 1000);
    await store.set('c', '3', 1000);
    await store.delete('a', 'b');
    expect(await store.getMany(['a', 'b', 'c'])).toEqual([null, null, '3']);
  });

  it('set replaces the value and the expiry', async () => {
    await store.set('k', 'old', 1000);
    await store.set('k', 'new', 3000);
    expect(await store.get('k')).toBe('new');
    expect(await store.ttl('k')).toBe(3000);
  });

  it('increments by any step, keeping the expiry the counter started with', async () => {
    expect(await store.increment('c', 1000, 5)).toBe(5);
    clock.advance(300);
    expect(await store.increment('c', 9000, -2)).toBe(3);
    expect(await store.ttl('c')).toBe(700);
  });

  it('expire sets a live key\'s expiry, and a missing key stays missing', async () => {
    await store.set('k', 'v', 1000);
    await store.expire('k', 5000);
    expect(await store.ttl('k')).toBe(5000);
    await store.expire('missing', 5000);
    expect(await store.get('missing')).toBeNull();
    expect(await store.ttl('missing')).toBe(0);
  });

  it('a refused reservation on a missing key creates nothing', async () => {
    expect(await store.reserveAttempt('zero', 0, 1000)).toEqual({ granted: false, count: 0, ttlMs: 0 });
    expect(await store.get('zero')).toBeNull();
  });

  it('releaseAttempt never goes below zero, and leaves a missing counter missing', async () => {
    await store.reserveAttempt('r', 3, 1000);
    await store.releaseAttempt('r');
    await store.releaseAttempt('r');
    expect(await store.get('r')).toBe('0');
    await store.releaseAttempt('none');
    expect(await store.get('none')).toBeNull();
  });

  it('setMax replaces an expired value and sets its expiry', async () => {
    await store.setMax('cut', 500, 1000);
    clock.advance(1000);
    expect(await store.setMax('cut', 100, 2000)).toBe(100);
    expect(await store.ttl('cut')).toBe(2000);
    expect(await store.setMax('cut', 100, 5000)).toBe(100); // an equal number changes nothing either
    expect(await store.ttl('cut')).toBe(2000);
  });

  it('sweeps expired keys from memory even when nobody reads them again, and close empties it', async () => {
    jest.useFakeTimers();
    try {
      const swept = new MemoryKvStore(clock, {}, 1000);
      await swept.set('short', 'v', 500);
      await swept.set('long', 'v', 5000);
      clock.advance(500);
      jest.advanceTimersByTime(999);
      expect(swept.usage().keys).toBe(2);
      jest.advanceTimersByTime(1);
      expect(swept.usage().keys).toBe(1);
      expect(await swept.get('long')).toBe('v');
      await swept.close();
      expect(swept.usage()).toEqual({ keys: 0, bytes: 0 });
      clock.advance(10_000);
      jest.advanceTimersByTime(60_000);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('MemoryKvStore bounds (KV_MEMORY_MAX_KEYS, KV_MEMORY_MAX_MB)', () => {
  const evictable = (key: string) => key.startsWith('cache:') || key.startsWith('captcha:') || key.startsWith('captcha-ip:');
  let clock: ManualClock;
  let stores: MemoryKvStore[];
  const open = (maxKeys: number, maxBytes = 1024 * 1024) => {
    const store = new MemoryKvStore(clock, { maxKeys, maxBytes, evictable });
    stores.push(store);
    return store;
  };
  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
  });

  it('holds at most maxKeys, evicting the oldest evictable key first', async () => {
    const store = open(100);
    for (let i = 0; i < 250; i += 1) await store.set(`cache:${i}`, 'v', 60_000);
    expect(store.usage().keys).toBe(100);
    expect(await store.get('cache:149')).toBeNull();
    expect(await store.get('cache:150')).toBe('v');
    expect(await store.get('cache:249')).toBe('v');
  });

  it('holds at most maxBytes, evicting the oldest evictable key first', async () => {
    const perKey = entryCost('cache:000', 'x'.repeat(100));
    const store = open(1_000_000, perKey * 10 + perKey / 2);
    for (let i = 0; i < 100; i += 1) await store.set(`cache:${String(i).padStart(3, '0')}`, 'x'.repeat(100), 60_000);
    expect(store.usage()).toEqual({ keys: 10, bytes: perKey * 10 });
    expect(await store.get('cache:089')).toBeNull();
    expect(await store.get('cache:090')).not.toBeNull();
    // One value bigger than the rest pushes out as many old ones as it needs.
    await store.set('cache:big', 'x'.repeat(100 + perKey * 2), 60_000);
    expect(store.usage().bytes).toBeLessThanOrEqual(perKey * 10 + perKey / 2);
    expect(await store.get('cache:092')).toBeNull();
  });

  it('a flood of distinct evictable keys cannot reset a live lock counter', async () => {
    const store = open(1000);
    for (let i = 0; i < 10; i += 1) await store.reserveAttempt('login-failures:alice', 10, 3_600_000);
    await store.expire('login-failures:alice', 900_000);
    await store.set('revoked-session:s1', '1', 960_000);
    await Promise.all(Array.from({ length: 10_000 }, (_, i) => store.set(`captcha:${i}`, 'hash', 300_000)));
    expect(store.usage().keys).toBe(1000);
    expect(await store.reserveAttempt('login-failures:alice', 10, 3_600_000)).toEqual({ granted: false, count: 10, ttlMs: 900_000 });
    expect(await store.get('revoked-session:s1')).toBe('1');
  });

  it('a flood of distinct kept keys is refused once the store is full (fail closed), and never evicts a live one', async () => {
    const store = open(1000);
    for (let i = 0; i < 10; i += 1) await store.reserveAttempt('login-failures:alice', 10, 3_600_000);
    const outcomes = await Promise.allSettled(Array.from({ length: 5000 }, (_, i) => store.reserveAttempt(`login-failures:flood-${i}`, 10, 3_600_000)));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(refused).toHaveLength(5000 - 999);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(DependencyUnavailableError);
    expect(store.usage().keys).toBe(1000);
    expect((await store.reserveAttempt('login-failures:alice', 10, 3_600_000)).granted).toBe(false);
    // A counter that already lives still counts when the store is full: no new key needed.
    expect(await store.reserveAttempt('login-failures:flood-0', 10, 3_600_000)).toMatchObject({ granted: true, count: 2 });
    // Once the flood's keys expire, they make room (the lock, renewed later, is still there).
    await store.expire('login-failures:alice', 7_200_000);
    clock.advance(3_600_000);
    expect((await store.reserveAttempt('login-failures:bob', 10, 3_600_000)).granted).toBe(true);
    expect((await store.reserveAttempt('login-failures:alice', 10, 3_600_000)).granted).toBe(false);
  });

  it('a refused write leaves everything as it was, and a kept key evicts evictable ones to make room', async () => {
    const store = open(1000);
    for (let i = 0; i < 999; i += 1) await store.set(`lock:${i}`, '1', 60_000);
    await store.set('captcha:a', 'hash', 60_000);
    await store.set('lock:new', '1', 60_000); // pushes the captcha out
    expect(await store.get('captcha:a')).toBeNull();
    await expect(store.set('lock:another', '1', 60_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(store.set('captcha:b', 'hash', 60_000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(await store.get('lock:another')).toBeNull();
    // Rewriting a key that exists needs no room; a bigger value that does not fit keeps the old one.
    await store.set('lock:0', '2', 60_000);
    expect(await store.get('lock:0')).toBe('2');
    expect(store.usage().keys).toBe(1000);
  });

  it('keeps at most `max` members per list, dropping the oldest, even under a parallel burst', async () => {
    const store = open(100_000);
    const dropped = (await Promise.all(Array.from({ length: 200 }, (_, i) => store.pushCapped('captcha-ip:1.2.3.4', `id-${i}`, 20, 300_000)))).flat();
    expect(dropped).toEqual(Array.from({ length: 180 }, (_, i) => `id-${i}`));
    // A member pushed again moves to the end instead of taking a second place.
    expect(await store.pushCapped('captcha-ip:1.2.3.4', 'id-180', 20, 300_000)).toEqual([]);
    expect(await store.pushCapped('captcha-ip:1.2.3.4', 'id-new', 20, 300_000)).toEqual(['id-181']);
    clock.advance(300_000);
    expect(await store.pushCapped('captcha-ip:1.2.3.4', 'later', 20, 300_000)).toEqual([]);
  });
});
