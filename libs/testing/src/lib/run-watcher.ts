import { readFileSync } from 'node:fs';

/** An idle sandbox holds its init and the executor; a third process is a program running. */
const IDLE_PROCESSES = 2;

/**
 * Watches sandbox containers from the host's cgroups (cgroupfs driver), every `everyMs`: a container
 * is running user code when it holds more processes than an idle sandbox and is not frozen. This is
 * Docker's and the kernel's view, not the platform's: it proves that two attempts never ran at once.
 */
export class RunWatcher {
  private readonly samples: { at: number; running: Set<string> }[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly containers: () => readonly string[],
    everyMs = 50,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Samples in which two or more of these containers ran user code at the same time. */
  concurrent(ids: readonly string[]): number {
    return this.samples.filter((s) => ids.filter((id) => s.running.has(id)).length > 1).length;
  }

  /** When the container was last seen running user code (ms since the epoch), or null. */
  lastRunning(id: string): number | null {
    for (let i = this.samples.length - 1; i >= 0; i--) if (this.samples[i]!.running.has(id)) return this.samples[i]!.at;
    return null;
  }

  /** Whether the container was ever seen running user code. */
  ran(id: string): boolean {
    return this.lastRunning(id) !== null;
  }

  private sample(): void {
    const running = new Set<string>();
    for (const id of this.containers()) {
      try {
        const dir = `/sys/fs/cgroup/freezer/docker/${id}`;
        const procs = readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).length;
        if (procs > IDLE_PROCESSES && readFileSync(`${dir}/freezer.state`, 'utf8').trim() === 'THAWED') running.add(id);
      } catch {
        // not started yet, or gone
      }
    }
    this.samples.push({ at: Date.now(), running });
  }
}
