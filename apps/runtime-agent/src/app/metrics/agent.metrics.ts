import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { type GaugeRows, metricsRegistry, scrapedGauge, SECONDS_BUCKETS } from '@sandbox/telemetry';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { AGENT_CONFIG, type AgentConfig } from '../agent.config';

/**
 * What this node does: executions by verdict and their duration, session starts from the warm pool
 * and cold, queue wait, and the node's own utilisation (USE). Pool size and running executions are
 * read at scrape time from `gauges` the services register.
 */
@Injectable()
export class AgentMetrics {
  readonly registry: Registry = metricsRegistry('runtime-agent');
  private readonly registers = [this.registry];

  readonly executions = new Counter({
    name: 'sandbox_executions_total',
    help: 'Executions ended on this node, by verdict',
    labelNames: ['template', 'status', 'reason'] as const,
    registers: this.registers,
  });

  readonly executionDuration = new Histogram({
    name: 'sandbox_execution_duration_seconds',
    help: 'From taking the execution to recording its result',
    labelNames: ['template', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  readonly coldStart = new Histogram({
    name: 'sandbox_cold_start_duration',
    help: 'Seconds to place a session in a container started for it (no warm one)',
    labelNames: ['template'] as const,
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  readonly warmStart = new Histogram({
    name: 'sandbox_warm_start_duration',
    help: 'Seconds to place a session in a container of the warm pool',
    labelNames: ['template'] as const,
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  readonly doorbellsHeard = new Counter({
    name: 'sandbox_doorbells_heard_total',
    help: 'Execution doorbells published to this node and heard (those not heard are queued: sandbox_queue_wait_seconds)',
    registers: this.registers,
  });

  readonly queueWait = new Histogram({
    name: 'sandbox_queue_wait_seconds',
    help: 'From a job added to its queue until this node took it',
    labelNames: ['queue'] as const,
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  readonly placementWait = new Histogram({
    name: 'sandbox_placement_wait_seconds',
    help: 'From a session asking for a node until this node bound it (waiting for capacity included)',
    buckets: SECONDS_BUCKETS,
    registers: this.registers,
  });

  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {
    const node = config.NODE_ID;
    let last = cpuTimes();
    new Gauge({
      name: 'sandbox_runtime_cpu_usage',
      help: 'Share of the node CPU busy since the previous scrape (0 to 1)',
      labelNames: ['node'],
      registers: this.registers,
      collect() {
        const now = cpuTimes();
        const total = now.total - last.total;
        this.set({ node }, total > 0 ? (now.busy - last.busy) / total : 0);
        last = now;
      },
    });
    new Gauge({
      name: 'sandbox_runtime_memory_usage',
      help: 'Share of the node memory in use (0 to 1, MemAvailable counted free)',
      labelNames: ['node'],
      registers: this.registers,
      collect() {
        const info = readFileSync('/proc/meminfo', 'utf8');
        const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? 0);
        this.set({ node }, 1 - kb('MemAvailable') / kb('MemTotal'));
      },
    });
    new Gauge({ name: 'sandbox_node_cpus', help: 'CPUs of the node', labelNames: ['node'], registers: this.registers }).set({ node }, cpus().length);
    new Gauge({ name: 'sandbox_node_capacity', help: 'Executions the node runs at once (AGENT_CAPACITY)', labelNames: ['node'], registers: this.registers }).set(
      { node },
      config.AGENT_CAPACITY,
    );
  }

  /** A gauge of this node whose value is read from its owner at each scrape. */
  nodeGauge(name: string, help: string, read: () => number): void {
    scrapedGauge(this.registry, name, help, ['node'], () => [[{ node: this.config.NODE_ID }, read()]]);
  }

  /** A gauge whose value is read from its owner at each scrape. */
  gauge(name: string, help: string, read: () => GaugeRows): void {
    scrapedGauge(this.registry, name, help, ['template', 'node'], read);
  }
}

/** Jiffies of all CPUs from /proc/stat: busy (everything but idle and iowait) and total. */
function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}
