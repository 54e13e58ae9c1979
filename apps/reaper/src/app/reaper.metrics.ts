import { Injectable } from '@nestjs/common';
import { Clock } from '@sandbox/domain';
import { metricsRegistry } from '@sandbox/telemetry';
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the reaper did, by action and outcome, and when each task last ran: its /metrics. */
@Injectable()
export class ReaperMetrics {
  readonly registry: Registry = metricsRegistry('reaper');

  private readonly actions = new Counter({
    name: 'sandbox_reaper_actions_total',
    help: 'What the reaper did (nodes lost, sessions moved, executions retried or crashed, sessions expired; retention: workspaces, sessions, executions and stored objects deleted, idempotency keys forgotten, dead nodes removed, their queues obliterated)',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly lastRun = new Gauge({
    name: 'sandbox_reaper_last_run_timestamp_seconds',
    help: 'When each reaper task last ran (Unix time)',
    labelNames: ['task'] as const,
    registers: [this.registry],
  });

  constructor(private readonly clock: Clock) {}

  count(action: string, outcome: string, n = 1): void {
    if (n > 0) this.actions.inc({ action, outcome }, n);
  }

  ran(task: string): void {
    this.lastRun.set({ task }, this.clock.now() / 1000);
  }
}
