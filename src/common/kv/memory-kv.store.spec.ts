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
});
