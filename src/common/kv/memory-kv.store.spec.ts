import { Clock } from '../clock';
import { MemoryKvStore } from './memory-kv.store';

describe('MemoryKvStore', () => {
  class ManualClock extends Clock {
    private at = 1_000_000;
    now() {
      return this.at;
    }
    advance(ms: number) {
      this.at += ms;
    }
  }
  let clock: ManualClock;
  let store: MemoryKvStore;
  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryKvStore(clock);
  });
  afterEach(() => store.close());

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
      const swept = new MemoryKvStore(clock, 1000);
      const slots = (swept as unknown as { slots: Map<string, unknown> }).slots;
      await swept.set('short', 'v', 500);
      await swept.set('long', 'v', 5000);
      clock.advance(500);
      jest.advanceTimersByTime(999);
      expect(slots.size).toBe(2);
      jest.advanceTimersByTime(1);
      expect([...slots.keys()]).toEqual(['long']);
      await swept.close();
      expect(slots.size).toBe(0);
      clock.advance(10_000);
      jest.advanceTimersByTime(60_000);
    } finally {
      jest.useRealTimers();
    }
  });
});
