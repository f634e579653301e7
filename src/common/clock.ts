/** Time as the service sees it; tests swap in a controllable clock to prove TTLs without sleeping. */
export abstract class Clock {
  abstract now(): number;
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}
