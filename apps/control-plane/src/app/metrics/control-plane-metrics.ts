import { Injectable } from '@nestjs/common';
import { EXECUTION_STATUSES } from '@sandbox/domain';
import { ExecutionRepository, RuntimeNodeRepository, SessionRepository } from '@sandbox/persistence';
import { nodeQueueName, QueueProducer, SHARED_QUEUE } from '@sandbox/queue';
import { metricsRegistry, SECONDS_BUCKETS } from '@sandbox/telemetry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Window of sandbox_failure_rate and sandbox_timeout_rate. */
export const RATE_WINDOW_SECONDS = 300;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * The control plane's metrics: HTTP RED, sessions created, and what the whole platform looks like
 * (live sessions, outcome rates, queue depth, node heartbeats), read from MariaDB and Redis at scrape
 * time so every replica reports the same truth.
 */
@Injectable()
export class ControlPlaneMetrics {
  readonly registry: Registry = metricsRegistry('control-plane');

  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  readonly sessionsCreated = new Counter({
    name: 'sandbox_sessions_total',
    help: 'Sessions created',
    labelNames: ['template'] as const,
    registers: [this.registry],
  });

  constructor(sessions: SessionRepository, executions: ExecutionRepository, nodes: RuntimeNodeRepository, producer: QueueProducer) {
    const registers = [this.registry];
    new Gauge({
      name: 'sandbox_sessions_active',
      help: 'Live (creating or running) sessions',
      labelNames: ['template'],
      registers,
      async collect() {
        this.reset();
        for (const [template, n] of await sessions.countLiveByTemplate()) this.set({ template }, n);
      },
    });
    const outcomes = () => executions.recentOutcomes(RATE_WINDOW_SECONDS);
    const rate = (name: string, status: (typeof EXECUTION_STATUSES)[number], what: string) =>
      new Gauge({
        name,
        help: `Share of executions ended in the last ${RATE_WINDOW_SECONDS} s that ${what}`,
        labelNames: ['template'],
        registers,
        async collect() {
          this.reset();
          const totals = new Map<string, { all: number; hit: number }>();
          for (const o of await outcomes()) {
            const t = totals.get(o.template) ?? { all: 0, hit: 0 };
            t.all += o.n;
            if (o.status === status) t.hit += o.n;
            totals.set(o.template, t);
          }
          for (const [template, t] of totals) this.set({ template }, t.hit / t.all);
        },
      });
    rate('sandbox_failure_rate', 'failed', 'failed (a limit or the platform stopped them)');
    rate('sandbox_timeout_rate', 'timeout', 'hit their wall-time limit');
    const nodeRows = () => nodes.withAges();
    new Gauge({
      name: 'sandbox_node_heartbeat_age_seconds',
      help: 'Seconds since each runtime node last beat, on the database clock (-1: never)',
      labelNames: ['node', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const n of await nodeRows()) if (n.status !== 'offline') this.set({ node: n.id, status: n.status }, n.heartbeatAge ?? -1);
      },
    });
    new Gauge({
      name: 'sandbox_queue_jobs',
      help: 'BullMQ jobs per queue and state (the shared queue and every live node queue)',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        const live = (await nodeRows()).filter((n) => n.status !== 'offline').map((n) => nodeQueueName(n.id));
        for (const name of [SHARED_QUEUE, ...live]) {
          const counts = await producer.queue(name).getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }
      },
    });
  }
}
