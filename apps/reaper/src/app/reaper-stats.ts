import { Injectable } from '@nestjs/common';

/** What the reaper did, by action and outcome, and when each task last ran (for metrics and logs). */
@Injectable()
export class ReaperStats {
  private readonly counts = new Map<string, number>();
  private readonly lastRun = new Map<string, Date>();

  count(action: string, outcome: string, n = 1): void {
    if (n <= 0) return;
    const key = `${action}:${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  ran(task: string): void {
    this.lastRun.set(task, new Date());
  }

  snapshot(): { counts: Record<string, number>; last_run: Record<string, string> } {
    return {
      counts: Object.fromEntries(this.counts),
      last_run: Object.fromEntries([...this.lastRun].map(([task, at]) => [task, at.toISOString()])),
    };
  }
}
