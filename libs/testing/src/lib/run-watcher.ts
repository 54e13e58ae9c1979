import { readFileSync } from 'node:fs';

/** An idle sandbox holds its init and the executor; a third process is a program running. */
const IDLE_PROCESSES = 2;
/** Stopped (SIGSTOP, traced) or dead processes run nothing. */
const STOPPED = new Set(['T', 't', 'Z', 'X', '?']);

/** A process's state letter from /proc/<pid>/stat ('?' once it is gone). */
function stateOf(pid: string): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '?';
  }
}

/**
 * Watches sandbox containers from the host's cgroups (cgroupfs driver), every `everyMs`: a container
 * is running user code when it is not frozen and holds more processes that are not stopped than an
 * idle sandbox. This is
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
        if (readFileSync(`${dir}/freezer.state`, 'utf8').trim() !== 'THAWED') continue;
        const live = readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).filter((pid) => !STOPPED.has(stateOf(pid)));
        if (live.length > IDLE_PROCESSES) running.add(id);
      } catch {
        // not started yet, or gone
      }
    }
    this.samples.push({ at: Date.now(), running });
  }
}
