/**
 * The shared short-lived state: captchas, codes, counters, cooldowns and revocations.
 * In-process by default; Redis when REDIS_URL is set so that several instances behave as one.
 *
 * cache-manager's get/set API cannot express the atomic operations this state needs
 * (take-once for single-use answers, increment-with-expiry for counters, set-if-absent for
 * cooldowns): done as get-then-set they race under parallel requests. Hence this small port.
 * Every operation either succeeds or throws DependencyUnavailableError (fail closed).
 */
/** What reserveAttempt answers: whether this call took a slot, and the counter as this call left it. */
export interface AttemptReservation {
  /** True when this call took one of the slots: the caller may now compare. */
  granted: boolean;
  /** Slots taken, this call's included when granted (so 1..limit); equal to the limit when refused. */
  count: number;
  /** Milliseconds the counter has left. */
  ttlMs: number;
}

export interface AttemptSlot {
  key: string;
  /** How many attempts the series allows. */
  limit: number;
  /** How long a new counter lives (its expiry is set when the series starts, never extended by a reservation). */
  ttlMs: number;
}

export abstract class KvStore {
  abstract get(key: string): Promise<string | null>;
  abstract getMany(keys: string[]): Promise<(string | null)[]>;
  abstract set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when the key does not exist; true when this call set it. */
  abstract setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one step: of many parallel callers, exactly one sees the value. */
  abstract take(key: string): Promise<string | null>;
  abstract delete(...keys: string[]): Promise<void>;
  /** Adds `by` and returns the new value; a new counter lives for ttlMs. */
  abstract increment(key: string, ttlMs: number, by?: number): Promise<number>;
  /** increment() that also tells how long the counter has left, in one step (one round trip to Redis). */
  abstract incrementWindow(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }>;
  /**
   * Count before compare: takes one of `limit` attempt slots under `key` atomically, BEFORE the
   * caller checks a secret (a code, a password), so that of any number of parallel callers, on any
   * number of instances, at most `limit` ever compare; the next is refused even while the first ones
   * are still in flight. A refused call takes nothing (the counter never passes the limit).
   * A slot stays taken: a failed comparison simply keeps it. A caller refused for another reason before
   * comparing gives its slot back with releaseAttempt; a success ends the series with delete (or
   * releaseAttempt, where successes must not reset it); expire turns a full series into a timed lock.
   */
  reserveAttempt(key: string, limit: number, ttlMs: number): Promise<AttemptReservation> {
    return this.reserveAttempts([{ key, limit, ttlMs }]).then(([reservation]) => reservation);
  }
  /** reserveAttempt over several independent series in one atomic step (one round trip to Redis); answers in the same order. */
  abstract reserveAttempts(slots: AttemptSlot[]): Promise<AttemptReservation[]>;
  /** Gives back one slot reserveAttempt took (never below zero; a counter that is gone stays gone; the expiry is kept). */
  abstract releaseAttempt(key: string): Promise<void>;
  /** Sets a live key's expiry (a missing key stays missing). */
  abstract expire(key: string, ttlMs: number): Promise<void>;
  /** Milliseconds the key has left, or 0 when it does not exist. */
  abstract ttl(key: string): Promise<number>;
  /**
   * Keeps the larger number: sets `value` (and its ttl) only when the key is absent or holds a smaller
   * number, in one step; answers the number the key holds afterwards. A cut-off that only moves forward.
   */
  abstract setMax(key: string, value: number, ttlMs: number): Promise<number>;
  /**
   * Appends `member` to the list under `key` (moving it to the end when it is there already) and
   * keeps at most `max` members, dropping the oldest, in one step; the list lives `ttlMs` from this
   * call. Answers the members it dropped, oldest first. A per-owner cap: of any number of parallel
   * callers, the list never holds more than `max`.
   */
  abstract pushCapped(key: string, member: string, max: number, ttlMs: number): Promise<string[]>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
