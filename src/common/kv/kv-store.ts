/**
 * The shared short-lived state: captchas, codes, counters, cooldowns and revocations.
 * In-process by default; Redis when REDIS_URL is set so that several instances behave as one.
 *
 * cache-manager's get/set API cannot express the atomic operations this state needs
 * (take-once for single-use answers, increment-with-expiry for counters, set-if-absent for
 * cooldowns): done as get-then-set they race under parallel requests. Hence this small port.
 * Every operation either succeeds or throws DependencyUnavailableError (fail closed).
 */
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
  /** Milliseconds the key has left, or 0 when it does not exist. */
  abstract ttl(key: string): Promise<number>;
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
