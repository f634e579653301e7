import { Clock } from '../clock';
import { DependencyUnavailableError } from '../http/error-response';
import { AttemptReservation, AttemptSlot, KvStore } from './kv-store';

interface Slot {
  value: string | string[];
  expiresAt: number;
  /** What this entry is charged against the byte bound (entryCost). */
  bytes: number;
}

/**
 * What one entry costs the heap beyond its key and value characters: the Map entry, the slot object
 * and two string headers. Measured (scripts/bench/kv-entry-cost.js, 100,000 keys): a pending captcha
 * 249 B (charged 268), a revocation marker 175 B (charged 228), an attempt counter 160 B (charged 210).
 */
export const ENTRY_OVERHEAD_BYTES = 160;
/** A value is charged at least this many characters, so a counter's digits can grow in place without a new charge. */
const MIN_VALUE_CHARS = 16;
/** Each member of a list (pushCapped): its string and array slot; measured 212 B per UUID member, 20 to a list. */
const LIST_MEMBER_OVERHEAD_BYTES = 180;

export function entryCost(key: string, value: string | string[]): number {
  const valueChars = typeof value === 'string' ? Math.max(value.length, MIN_VALUE_CHARS) : value.reduce((sum, member) => sum + member.length + LIST_MEMBER_OVERHEAD_BYTES, 0);
  return ENTRY_OVERHEAD_BYTES + key.length + valueChars;
}

export interface MemoryKvLimits {
  /** Most keys held at once. */
  maxKeys: number;
  /** Most bytes held at once, as entryCost estimates them. */
  maxBytes: number;
  /**
   * Keys whose loss only costs a repeat (a cache entry, a pending captcha: losing one fails closed).
   * They are evicted oldest first to make room; every other key (counters, locks, revocations,
   * single-use markers) is never evicted while it lives: when only those fill the store, a write
   * that needs a new key is refused (DependencyUnavailableError, 503) rather than forget one.
   */
  evictable: (key: string) => boolean;
}

/** How often a full store may look for expired keys to make room (a sweep walks every key). */
const FULL_SWEEP_EVERY_MS = 1000;

/**
 * The single-instance store. Every method completes synchronously inside, so each is atomic.
 * Bounded by count and by bytes (MemoryKvLimits): expired keys go first, then evictable ones,
 * oldest first; the rest are kept until they expire.
 */
export class MemoryKvStore extends KvStore {
  /** Keys that may be evicted, in insertion order (a rewrite moves a key to the end): the first is the oldest. */
  private readonly evictableSlots = new Map<string, Slot>();
  /** Keys that are never evicted while they live. */
  private readonly keptSlots = new Map<string, Slot>();
  private bytes = 0;
  private lastFullSweep = -Infinity;
  private readonly sweeper: NodeJS.Timeout;
  private readonly limits: MemoryKvLimits;

  constructor(
    private readonly clock: Clock,
    limits: Partial<MemoryKvLimits> = {},
    sweepEveryMs = 60_000,
  ) {
    super();
    this.limits = { maxKeys: 50_000, maxBytes: 16 * 1024 * 1024, evictable: () => false, ...limits };
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  /** Keys held and the bytes charged for them (for tests and the documentation of the bound). */
  usage(): { keys: number; bytes: number } {
    return { keys: this.evictableSlots.size + this.keptSlots.size, bytes: this.bytes };
  }

  private mapOf(key: string): Map<string, Slot> {
    return this.limits.evictable(key) ? this.evictableSlots : this.keptSlots;
  }

  private live(key: string): Slot | undefined {
    const map = this.mapOf(key);
    const slot = map.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= this.clock.now()) {
      this.drop(map, key, slot);
      return undefined;
    }
    return slot;
  }

  private drop(map: Map<string, Slot>, key: string, slot: Slot): void {
    map.delete(key);
    this.bytes -= slot.bytes;
  }

  private sweep(): void {
    const now = this.clock.now();
    this.lastFullSweep = now;
    for (const map of [this.evictableSlots, this.keptSlots]) {
      for (const [key, slot] of map) if (slot.expiresAt <= now) this.drop(map, key, slot);
    }
  }

  private full(extraKeys: number, extraBytes: number): boolean {
    return this.evictableSlots.size + this.keptSlots.size + extraKeys > this.limits.maxKeys || this.bytes + extraBytes > this.limits.maxBytes;
  }

  /**
   * Makes room for one more key of `bytes`: expired keys (one sweep a second at most), then evictable
   * keys oldest first. Throws when only live kept keys are left: their loss would weaken a limit.
   */
  private makeRoom(extraKeys: number, extraBytes: number): void {
    if (!this.full(extraKeys, extraBytes)) return;
    if (this.clock.now() - this.lastFullSweep >= FULL_SWEEP_EVERY_MS) this.sweep();
    while (this.full(extraKeys, extraBytes)) {
      const oldest = this.evictableSlots.entries().next();
      if (oldest.done) throw new DependencyUnavailableError('in-process store (full: KV_MEMORY_MAX_KEYS / KV_MEMORY_MAX_MB)');
      this.drop(this.evictableSlots, oldest.value[0], oldest.value[1]);
    }
  }

  /** Stores a new value under `key` (replacing and re-ordering any old one) within the bounds. */
  private put(key: string, value: string | string[], expiresAt: number): Slot {
    const map = this.mapOf(key);
    const old = map.get(key);
    if (old) this.drop(map, key, old);
    const slot = { value, expiresAt, bytes: entryCost(key, value) };
    try {
      this.makeRoom(1, slot.bytes);
    } catch (error) {
      // The old value stays: a refused write changes nothing.
      if (old) {
        map.set(key, old);
        this.bytes += old.bytes;
      }
      throw error;
    }
    map.set(key, slot);
    this.bytes += slot.bytes;
    return slot;
  }

  async get(key: string): Promise<string | null> {
    const value = this.live(key)?.value;
    return typeof value === 'string' ? value : null;
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    return keys.map((key) => {
      const value = this.live(key)?.value;
      return typeof value === 'string' ? value : null;
    });
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.put(key, value, this.clock.now() + ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.put(key, value, this.clock.now() + ttlMs);
    return true;
  }

  async take(key: string): Promise<string | null> {
    const slot = this.live(key);
    if (!slot) return null;
    this.drop(this.mapOf(key), key, slot);
    return typeof slot.value === 'string' ? slot.value : null;
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) {
      const map = this.mapOf(key);
      const slot = map.get(key);
      if (slot) this.drop(map, key, slot);
    }
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const slot = this.live(key);
    if (!slot) {
      this.put(key, String(by), this.clock.now() + ttlMs);
      return by;
    }
    const next = Number(slot.value) + by;
    slot.value = String(next);
    return next;
  }

  async incrementWindow(key: string, ttlMs: number): Promise<{ value: number; ttlMs: number }> {
    const value = await this.increment(key, ttlMs);
    return { value, ttlMs: await this.ttl(key) };
  }

  async reserveAttempts(slots: AttemptSlot[]): Promise<AttemptReservation[]> {
    // Room for every new counter first, so a refusal (store full) takes no slot in any series.
    const fresh = slots.filter(({ key }) => !this.live(key));
    this.makeRoom(fresh.length, fresh.reduce((sum, { key }) => sum + entryCost(key, '0'), 0));
    // Synchronous from the first read to the last write: no other caller runs in between.
    return slots.map(({ key, limit, ttlMs }) => {
      let slot = this.live(key);
      const count = slot ? Number(slot.value) : 0;
      if (count >= limit) return { granted: false, count, ttlMs: slot ? slot.expiresAt - this.clock.now() : 0 };
      slot ??= this.put(key, '0', this.clock.now() + ttlMs);
      slot.value = String(count + 1);
      return { granted: true, count: count + 1, ttlMs: slot.expiresAt - this.clock.now() };
    });
  }

  async releaseAttempt(key: string): Promise<void> {
    const slot = this.live(key);
    if (slot && Number(slot.value) > 0) slot.value = String(Number(slot.value) - 1);
  }

  async expire(key: string, ttlMs: number): Promise<void> {
    const slot = this.live(key);
    if (slot) slot.expiresAt = this.clock.now() + ttlMs;
  }

  async ttl(key: string): Promise<number> {
    const slot = this.live(key);
    return slot ? slot.expiresAt - this.clock.now() : 0;
  }

  async setMax(key: string, value: number, ttlMs: number): Promise<number> {
    const slot = this.live(key);
    if (slot && Number(slot.value) >= value) return Number(slot.value);
    this.put(key, String(value), this.clock.now() + ttlMs);
    return value;
  }

  async pushCapped(key: string, member: string, max: number, ttlMs: number): Promise<string[]> {
    const current = this.live(key)?.value;
    const members = Array.isArray(current) ? current.filter((m) => m !== member) : [];
    members.push(member);
    const dropped = members.splice(0, Math.max(0, members.length - Math.max(1, Math.floor(max))));
    this.put(key, members, this.clock.now() + ttlMs);
    return dropped;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.evictableSlots.clear();
    this.keptSlots.clear();
    this.bytes = 0;
  }
}
