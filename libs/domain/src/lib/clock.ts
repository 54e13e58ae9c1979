/**
 * Where time-based rules read the time. The apps use the system's; unit tests use a clock they move
 * by hand, so a rule about minutes is checked in microseconds, without sleeps. An abstract class
 * rather than an interface: it doubles as the injection token.
 */
export abstract class Clock {
  /** Wall time, ms since the epoch: for what is compared with other machines' times. */
  abstract now(): number;
  /**
   * Monotonic ms: for the deadlines and ages a process measures itself (immune to clock steps); the
   * host's CLOCK_MONOTONIC, so a deadline can be handed to another process of the host (a lease).
   */
  abstract monotonic(): number;
}

class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  // CLOCK_MONOTONIC, shared by every process of the host: a sandbox's executor reads the same clock
  monotonic(): number {
    return Number(process.hrtime.bigint()) / 1e6;
  }
}

export const systemClock: Clock = new SystemClock();

/** A clock that moves only when told to: for unit tests of time-based rules. */
export class ManualClock extends Clock {
  constructor(
    private wall = 1_700_000_000_000,
    private mono = 0,
  ) {
    super();
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** A step of the wall clock alone (NTP, an operator): monotonic time goes on as it was. */
  stepWall(ms: number): void {
    this.wall += ms;
  }
}
