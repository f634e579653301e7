import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { DependencyUnavailableError } from '@/common/http/error-response';
import { RedisKvStore } from '@/common/kv/redis-kv.store';
import { backend } from '../helpers/test-app';
import { waitForConnection } from '../helpers/redis-connection';

// The in-process store has its own unit spec with a fake clock; this one holds Redis to the same contract.
const describeOnRedis = backend.redisUrl ? describe : describe.skip;

describeOnRedis('RedisKvStore', () => {
  let store: RedisKvStore;
  beforeAll(async () => {
    store = new RedisKvStore(backend.redisUrl!, `uc_test:${randomBytes(6).toString('hex')}:`, 5000);
    await waitForConnection(store);
  });
  afterAll(() => store.close());

  it('counts a window and tells how long it has left, in one call', async () => {
    const first = await store.incrementWindow('window', 60_000);
    expect(first.value).toBe(1);
    expect(first.ttlMs).toBeGreaterThan(55_000);
    expect(first.ttlMs).toBeLessThanOrEqual(60_000);
    const second = await store.incrementWindow('window', 60_000);
    expect(second.value).toBe(2);
    // The window is set once, when the counter starts: a later hit does not extend it.
    expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs);
  });

  it('counts with an expiry set when the counter starts, and can count down', async () => {
    expect(await store.increment('counter', 60_000)).toBe(1);
    expect(await store.increment('counter', 60_000, 2)).toBe(3);
    expect(await store.increment('counter', 60_000, -1)).toBe(2);
    expect(await store.ttl('counter')).toBeGreaterThan(55_000);
  });

  it('reserves attempts before the caller compares: of 300 parallel callers exactly `limit` get a slot, and refused ones take nothing', async () => {
    const answers = await Promise.all(Array.from({ length: 300 }, () => store.reserveAttempt('tries', 5, 60_000)));
    expect(answers.filter((answer) => answer.granted).map((answer) => answer.count).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(answers.filter((answer) => !answer.granted).every((answer) => answer.count === 5 && answer.ttlMs > 55_000)).toBe(true);
    expect(await store.get('tries')).toBe('5');
    await store.releaseAttempt('tries');
    expect(await store.reserveAttempt('tries', 5, 60_000)).toEqual({ granted: true, count: 5, ttlMs: expect.any(Number) });
    await store.expire('tries', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.reserveAttempts([{ key: 'tries', limit: 5, ttlMs: 60_000 }, { key: 'other', limit: 0, ttlMs: 60_000 }])).toEqual([
      { granted: true, count: 1, ttlMs: expect.any(Number) },
      { granted: false, count: 0, ttlMs: 0 },
    ]);
    await store.releaseAttempt('never-counted');
    expect(await store.get('never-counted')).toBeNull();
  });

  it('setMax keeps the largest of many parallel values, with the ttl of the value kept', async () => {
    const values = Array.from({ length: 50 }, (_, i) => 1_733_000_000_000 + ((i * 37) % 50) * 1000);
    await Promise.all(values.map((value, i) => store.setMax('cut-off', value, 60_000 + i)));
    expect(await store.get('cut-off')).toBe(String(Math.max(...values)));
    expect(await store.setMax('cut-off', 1, 1000)).toBe(Math.max(...values));
    expect(await store.ttl('cut-off')).toBeGreaterThan(55_000); // the smaller value did not shorten it
    expect(await store.setMax('cut-off', Math.max(...values) + 1, 120_000)).toBe(Math.max(...values) + 1);
    expect(await store.ttl('cut-off')).toBeGreaterThan(115_000);
  });

  it('keeps at most `max` members per list, dropping the oldest, even under a parallel burst', async () => {
    const dropped = (await Promise.all(Array.from({ length: 200 }, (_, i) => store.pushCapped('captcha-ip:1.2.3.4', `id-${i}`, 20, 60_000)))).flat();
    expect(dropped).toEqual(Array.from({ length: 180 }, (_, i) => `id-${i}`));
    // A member pushed again moves to the end instead of taking a second place.
    expect(await store.pushCapped('captcha-ip:1.2.3.4', 'id-180', 20, 60_000)).toEqual([]);
    expect(await store.pushCapped('captcha-ip:1.2.3.4', 'id-new', 20, 60_000)).toEqual(['id-181']);
    expect(await store.ttl('captcha-ip:1.2.3.4')).toBeGreaterThan(55_000);
  });

  it('lets exactly one of many parallel takers see a value', async () => {
    await store.set('once', 'secret', 60_000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take('once')));
    expect(results.filter((value) => value === 'secret')).toHaveLength(1);
  });

  it('answers many parallel commands in order, each with its own result', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `parallel:${i}`);
    await Promise.all(keys.map((key, i) => store.set(key, String(i), 60_000)));
    expect(await Promise.all(keys.map((key) => store.get(key)))).toEqual(keys.map((_, i) => String(i)));
    expect(await store.getMany(keys.slice(0, 3))).toEqual(['0', '1', '2']);
  });

  it('sends the commands of one event-loop turn in one socket write', async () => {
    const socket = (store as unknown as { client: { stream: Socket & { _write(...args: unknown[]): void; _writev(...args: unknown[]): void } } }).client.stream;
    const single = jest.spyOn(socket, '_write');
    const batched = jest.spyOn(socket, '_writev');
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `turn:${i}`);
      await Promise.all(keys.map((key) => store.set(key, 'x', 60_000)));
      expect(single).not.toHaveBeenCalled();
      expect(batched).toHaveBeenCalledTimes(1);
      expect((batched.mock.calls[0] as unknown[][])[0]).toHaveLength(20);
      // The next turn is a batch of its own: nothing is held back once the turn has ended.
      expect(await Promise.all(keys.map((key) => store.get(key)))).toEqual(keys.map(() => 'x'));
      expect(batched).toHaveBeenCalledTimes(2);
    } finally {
      single.mockRestore();
      batched.mockRestore();
    }
  });
  it('sets with an expiry, and setIfAbsent writes only a missing key', async () => {
    await store.set('plain', 'a', 60_000);
    expect(await store.get('plain')).toBe('a');
    expect(await store.ttl('plain')).toBeGreaterThan(55_000);
    expect(await store.setIfAbsent('once-only', 'first', 60_000)).toBe(true);
    expect(await store.setIfAbsent('once-only', 'second', 60_000)).toBe(false);
    expect(await store.get('once-only')).toBe('first');
    expect(await store.ttl('once-only')).toBeGreaterThan(55_000);
    // A fraction of a millisecond is rounded up to one, never to a refused 0.
    await store.set('brief', 'b', 0.4);
    expect(await store.setIfAbsent('brief-nx', 'b', 0.4)).toBe(true);
  });

  it('take answers the value once and null after; delete removes several keys, or none', async () => {
    await store.set('taken', 'v', 60_000);
    expect(await store.take('taken')).toBe('v');
    expect(await store.take('taken')).toBeNull();
    await Promise.all(['d1', 'd2', 'd3'].map((key) => store.set(key, 'x', 60_000)));
    await store.delete('d1', 'd2');
    expect(await store.getMany(['d1', 'd2', 'd3', 'never-set'])).toEqual([null, null, 'x', null]);
    await expect(store.delete()).resolves.toBeUndefined();
    expect(await store.getMany([])).toEqual([]);
    expect(await store.reserveAttempts([])).toEqual([]);
  });

  it('expire sets the life asked for; ttl answers 0 for a missing key or one without expiry', async () => {
    await store.set('lives', 'x', 1000);
    await store.expire('lives', 90_000);
    expect(await store.ttl('lives')).toBeGreaterThan(85_000);
    expect(await store.ttl('missing')).toBe(0);
    const raw = (store as unknown as { client: { set(key: string, value: string): Promise<unknown> } }).client;
    await raw.set('forever', 'x');
    expect(await store.ttl('forever')).toBe(0);
    await store.delete('forever');
  });

  it('incrementWindow answers 0 left for a counter whose expiry was removed', async () => {
    await store.incrementWindow('window-persisted', 60_000);
    const raw = (store as unknown as { client: { persist(key: string): Promise<unknown> } }).client;
    await raw.persist('window-persisted');
    expect(await store.incrementWindow('window-persisted', 60_000)).toEqual({ value: 2, ttlMs: 0 });
  });

  it('keeps at least one member in a capped list', async () => {
    expect(await store.pushCapped('capped-zero', 'a', 0, 60_000)).toEqual([]);
    expect(await store.pushCapped('capped-zero', 'b', 0.5, 60_000)).toEqual(['a']);
  });

  it('keeps each store within its prefix', async () => {
    const other = new RedisKvStore(backend.redisUrl!, `uc_test:${randomBytes(6).toString('hex')}:`, 5000);
    try {
      await waitForConnection(other);
      await store.set('prefixed', 'mine', 60_000);
      expect(await other.get('prefixed')).toBeNull();
    } finally {
      await other.close();
    }
    // Closed means closed: no command goes out after it.
    await expect(other.get('prefixed')).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('connects at once by itself, and a command sent before the connection is up fails at once instead of waiting in a queue', async () => {
    const early = new RedisKvStore(backend.redisUrl!, `uc_test:${randomBytes(6).toString('hex')}:`, 5000);
    const idle = new RedisKvStore(backend.redisUrl!, `uc_test:${randomBytes(6).toString('hex')}:`, 5000);
    try {
      await expect(early.get('x')).rejects.toBeInstanceOf(DependencyUnavailableError);
      // Sent no command, yet connected: the first command, when it comes, is answered.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await idle.get('x')).toBeNull();
    } finally {
      await early.close();
      await idle.close();
    }
  });

  it('reconnects by itself after the connection drops', async () => {
    const dropped = new RedisKvStore(backend.redisUrl!, `uc_test:${randomBytes(6).toString('hex')}:`, 5000);
    try {
      await waitForConnection(dropped);
      (dropped as unknown as { client: { stream: Socket } }).client.stream.destroy();
      const started = Date.now();
      for (;;) {
        try {
          await dropped.ping();
          break;
        } catch (error) {
          if (Date.now() - started > 3000) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    } finally {
      await dropped.close();
    }
  });

  it('fails closed at once with DependencyUnavailableError when Redis cannot be reached (nothing is queued)', async () => {
    const away = new RedisKvStore('redis://127.0.0.1:1', 'uc_test:away:', 500);
    const delays: number[] = [];
    const client = (away as unknown as { client: { on(event: string, listener: (delay: number) => void): void; listenerCount(event: string): number } }).client;
    client.on('reconnecting', (delay) => delays.push(delay));
    try {
      const started = Date.now();
      const failure = await away.get('any').catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DependencyUnavailableError);
      expect((failure as DependencyUnavailableError).dependency).toBe('redis');
      expect((failure as Error).cause).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(1000); // within the 500 ms command timeout, with room for a loaded machine
      // It keeps trying, 100 ms more patient each time (at most a second apart). Its connection errors have a
      // listener: ioredis prints every one it has none for (the failing commands report them).
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(delays.slice(0, 3)).toEqual([100, 200, 300]);
      expect(client.listenerCount('error')).toBe(1);
    } finally {
      await away.close();
    }
  });
});
