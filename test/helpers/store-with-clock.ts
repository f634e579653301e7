import { Clock } from '@/common/clock';
import { MemoryKvLimits, MemoryKvStore } from '@/common/kv/memory-kv.store';

/** A clock that stands still until the test moves it: TTLs are proven by advancing it, never by sleeping. */
export class ManualClock extends Clock {
  constructor(private at = Date.UTC(2026, 0, 1, 12)) {
    super();
  }

  now(): number {
    return this.at;
  }

  advance(ms: number): void {
    this.at += ms;
  }
}

let open: MemoryKvStore[] = [];
// Registered once per spec file that imports this one: every store made during a test is closed after it.
afterEach(async () => {
  const closing = open;
  open = [];
  await Promise.all(closing.map((store) => store.close()));
});

/**
 * The in-process store on a clock the test moves by hand, as the unit specs of the services over
 * KvStore set it up. `start` is the clock's first instant (a spec may pin its own); `limits` and
 * `sweepEveryMs` are MemoryKvStore's. The store is closed after the test that made it.
 */
export function storeWithClock(options: { start?: number; limits?: Partial<MemoryKvLimits>; sweepEveryMs?: number } = {}): { clock: ManualClock; kv: MemoryKvStore } {
  const clock = new ManualClock(options.start);
  const kv = new MemoryKvStore(clock, options.limits, options.sweepEveryMs);
  open.push(kv);
  return { clock, kv };
}
