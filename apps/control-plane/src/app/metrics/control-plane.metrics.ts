import { Inject, Injectable } from '@nestjs/common';
import { EXECUTION_STATUSES } from '@sandbox/domain';
import { DatabaseClock, ExecutionRepository, RuntimeNodeRepository, SessionRepository } from '@sandbox/persistence';
import { nodeQueueName, QueueProducer, SHARED_QUEUE } from '@sandbox/queue';
import { type GaugeRows, metricsRegistry, scrapedGauge, SECONDS_BUCKETS } from '@sandbox/telemetry';
import { Counter, Histogram, type Registry } from 'prom-client';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane.config';

/** Window of sandbox_failure_rate and sandbox_timeout_rate. */
const RATE_WINDOW_SECONDS = 300;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
const PROBE_TIMEOUT_MS = 1000;

/** One read per scrape for sources several gauges share (gauges collect in parallel). */
function perScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let at = 0;
  let last: Promise<T> | null = null;
  return () => {
    if (!last || Date.now() - at > 1000) {
      at = Date.now();
      last = read();
    }
    return last;
  };
}

function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), ms)))]).finally(() => clearTimeout(timer));
}

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

  readonly sessionsRejected = new Counter({
    name: 'sandbox_sessions_rejected_total',
    help: 'New sessions refused at the door because no node could take them in time (503)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) config: ControlPlaneConfig,
    sessions: SessionRepository,
    executions: ExecutionRepository,
    nodes: RuntimeNodeRepository,
    producer: QueueProducer,
    database: DatabaseClock,
  ) {
    const gauge = (name: string, help: string, labels: string[], read: () => Promise<GaugeRows>) => scrapedGauge(this.registry, name, help, labels, read);
    const outcomes = perScrape(() => executions.recentOutcomes(RATE_WINDOW_SECONDS));
    const live = perScrape(async () => (await nodes.withAges()).filter((n) => n.status !== 'offline'));
    gauge('sandbox_sessions_active', 'Live (creating or running) sessions', ['template'], async () =>
      [...(await sessions.countLiveByTemplate())].map(([template, n]) => [{ template }, n]),
    );
    const backlog = perScrape(() => sessions.backlog(config.STALE_AFTER_SECONDS));
    gauge('sandbox_sessions_waiting', 'Sessions waiting for a node with room (the placement queue)', [], async () => [[{}, (await backlog()).waiting]]);
    gauge('sandbox_placement_oldest_wait_seconds', 'Seconds the oldest session in the placement queue has waited (0: none waits)', [], async () => [
      [{}, (await backlog()).oldestWaitSeconds],
    ]);
    gauge('sandbox_fleet_free_sessions', 'Sessions of the default size the online nodes still have room for', [], async () => [[{}, (await backlog()).freeSessions]]);
    const rate = (status: (typeof EXECUTION_STATUSES)[number]) => async () => {
      const totals = new Map<string, { all: number; hit: number }>();
      for (const o of await outcomes()) {
        const t = totals.get(o.template) ?? { all: 0, hit: 0 };
        t.all += o.n;
        if (o.status === status) t.hit += o.n;
        totals.set(o.template, t);
      }
      return [...totals].map(([template, t]): [Record<string, string>, number] => [{ template }, t.hit / t.all]);
    };
    gauge('sandbox_failure_rate', `Share of executions ended in the last ${RATE_WINDOW_SECONDS} s that failed (a limit or the platform stopped them)`, ['template'], rate('failed'));
    gauge('sandbox_timeout_rate', `Share of executions ended in the last ${RATE_WINDOW_SECONDS} s that hit their wall-time limit`, ['template'], rate('timeout'));
    gauge('sandbox_node_heartbeat_age_seconds', 'Seconds since each live runtime node last beat, on the database clock (-1: never)', ['node', 'status'], async () =>
      (await live()).map((n) => [{ node: n.id, status: n.status }, n.heartbeatAge ?? -1]),
    );
    gauge('sandbox_executions_stale', `Running executions without a heartbeat (of theirs or their node) for ${config.STALE_AFTER_SECONDS} s`, [], async () => [
      [{}, (await executions.lost(config.STALE_AFTER_SECONDS, 10_000)).length],
    ]);
    gauge('sandbox_queue_jobs', 'BullMQ jobs per queue and state (the shared queue and every live node queue)', ['queue', 'state'], async () => {
      const out: [Record<string, string>, number][] = [];
      for (const name of [SHARED_QUEUE, ...(await live()).map((n) => nodeQueueName(n.id))]) {
        const counts = await within(PROBE_TIMEOUT_MS, producer.queue(name).getJobCounts(...QUEUE_STATES));
        for (const state of QUEUE_STATES) out.push([{ queue: name, state }, counts[state] ?? 0]);
      }
      return out;
    });
    const up = (probe: () => Promise<unknown>) =>
      within(PROBE_TIMEOUT_MS, probe()).then(
        () => 1,
        () => 0,
      );
    gauge('sandbox_dependency_up', 'Whether MariaDB and Redis answer this control plane (1) or not (0)', ['dependency'], async () => [
      [{ dependency: 'database' }, await up(() => database.now())],
      [{ dependency: 'redis' }, await up(() => producer.ping(PROBE_TIMEOUT_MS))],
    ]);
  }
}
