/** Waits by key: everyone waiting for a key hears the next `wake` of it. */
export class WakeUps {
  private readonly waiting = new Map<string, Set<() => void>>();

  wake(key: string): void {
    for (const wake of this.waiting.get(key) ?? []) wake();
  }

  /** Resolves at the next `wake(key)`; `cancel` stops waiting (call it always, woken or not). */
  next(key: string): { promise: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    const set = this.waiting.get(key) ?? new Set();
    set.add(wake);
    this.waiting.set(key, set);
    return {
      promise,
      cancel: () => {
        set.delete(wake);
        if (!set.size) this.waiting.delete(key);
      },
    };
  }
}
