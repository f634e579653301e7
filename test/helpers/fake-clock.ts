import { Clock } from '@/common/clock';

/** A clock the test moves by hand: TTLs are proven by advancing it, never by sleeping. */
export class FakeClock extends Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
