import { Clock } from '../clock';
import { AttemptReservation, AttemptSlot, KvStore } from './kv-store';

interface Slot {
  value: string;
  expiresAt: number;
}

/** The single-instance store. Every method completes synchronously inside, so each is atomic. */
export class MemoryKvStore extends KvStore {
  private readonly slots = new Map<string, Slot>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly clock: Clock, sweepEveryMs = 60_000) {
    super();
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  private live(key: string): Slot | undefined {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= this.clock.now()) {
      this.slots.delete(key);
      return undefined;
    }
    return slot;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, slot] of this.slots) if (slot.expiresAt <= now) this.slots.delete(key);
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    return keys.map((key) => this.live(key)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.slots.set(key, { value, expiresAt: this.clock.now() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.slots.set(key, { value, expiresAt: this.clock.now() + ttlMs });
    return true;
  }

  async take(key: string): Promise<string | null> {
    const slot = this.live(key);
    this.slots.delete(key);
    return slot?.value ?? null;
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.slots.delete(key);
  }

  async increment(key: string, ttlMs: number, by = 1): Promise<number> {
    const slot = this.live(key);
    if (!slot) {
      this.slots.set(key, { value: String(by), expiresAt: this.clock.now() + ttlMs });
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
    // Synchronous from the first read to the last write: no other caller runs in between.
    return slots.map(({ key, limit, ttlMs }) => {
      let slot = this.live(key);
      const count = slot ? Number(slot.value) : 0;
      if (count >= limit) return { granted: false, count, ttlMs: slot ? slot.expiresAt - this.clock.now() : 0 };
      if (!slot) {
        slot = { value: '0', expiresAt: this.clock.now() + ttlMs };
        this.slots.set(key, slot);
      }
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
    this.slots.set(key, { value: String(value), expiresAt: this.clock.now() + ttlMs });
    return value;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.slots.clear();
  }
}
