import { agentConfigSchema } from '@sandbox/config';
import { AgentMetrics } from '../metrics/agent.metrics';
import { footprintOf, hostAllocatable, NodeBudgetService, nodeBudget, SANDBOX_OVERHEAD_BYTES } from './node-budget.service';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function budget(env: Record<string, string>) {
  const config = agentConfigSchema.parse({ DATABASE_URL: 'mysql://u:p@127.0.0.1/db', REDIS_URL: 'redis://127.0.0.1:6379', NODE_ID: 'n1', ...env });
  return new NodeBudgetService(config, new AgentMetrics(config));
}
// a python-basic session: 512Mi of memory, a 1Gi workspace, 64Mi /tmp, 1 CPU
const session = footprintOf({ memoryBytes: 512 * MiB, diskBytes: GiB, tmpBytes: 64 * MiB, nanoCpus: 1e9 });

describe('footprintOf', () => {
  it('counts the tmpfs and shm a session may fill, not only its memory limit', () => {
    expect(session).toEqual({ memoryBytes: 512 * MiB + GiB + 64 * MiB + 16 * MiB + SANDBOX_OVERHEAD_BYTES, cpuNanos: 1e9 });
    expect(session.memoryBytes).toBeGreaterThan(1.6 * GiB);
  });
});

describe('nodeBudget', () => {
  it('takes the configured budget, else the host memory less 1 GiB and 8 CPUs per core', () => {
    expect(nodeBudget({ AGENT_MEMORY_BYTES: 4 * GiB, AGENT_CPUS: 2.5 })).toEqual({ memoryBytes: 4 * GiB, cpuNanos: 2.5e9 });
    expect(nodeBudget({ AGENT_MEMORY_BYTES: 0, AGENT_CPUS: 0 }, hostAllocatable({ memoryBytes: 16 * GiB, cores: 4 }))).toEqual({ memoryBytes: 15 * GiB, cpuNanos: 32e9 });
    expect(nodeBudget({ AGENT_MEMORY_BYTES: 0, AGENT_CPUS: 0 }, hostAllocatable({ memoryBytes: GiB, cores: 1 })).memoryBytes).toBe(GiB / 2);
  });

  it('takes what the node gives (a Kubernetes node: its allocatable less other pods) where nothing is configured', () => {
    const node = { memoryBytes: 20 * GiB, cpuNanos: 12e9 };
    expect(nodeBudget({ AGENT_MEMORY_BYTES: 0, AGENT_CPUS: 0 }, node)).toEqual(node);
    expect(nodeBudget({ AGENT_MEMORY_BYTES: 0, AGENT_CPUS: 3 }, node)).toEqual({ memoryBytes: 20 * GiB, cpuNanos: 3e9 });
  });
});

describe('NodeBudgetService', () => {
  it('holds sessions while their memory fits, and frees a release once', () => {
    const b = budget({ AGENT_MEMORY_BYTES: String(4 * GiB) });
    const first = b.tryHold(session, true)!;
    const second = b.tryHold(session, true)!;
    expect(b.tryHold(session, true)).toBeNull();
    expect(b.snapshot()).toMatchObject({ memoryBytes: 4 * GiB, freeMemoryBytes: 4 * GiB - 2 * session.memoryBytes, freeSessions: 0 });
    let freed = 0;
    b.onFreed(() => freed++);
    second.release();
    second.release();
    expect(freed).toBe(1);
    expect(b.tryHold(session, true)).not.toBeNull();
    expect(first).toBeDefined();
  });

  it('holds by CPU and by session count too', () => {
    const byCpu = budget({ AGENT_CPUS: '1.5' });
    expect(byCpu.tryHold(session, true)).not.toBeNull();
    expect(byCpu.tryHold(session, true)).toBeNull();
    const byCount = budget({ AGENT_MAX_SESSIONS: '1', AGENT_CAPACITY: '1' });
    expect(byCount.tryHold(session, true)).not.toBeNull();
    expect(byCount.sessionsFull).toBe(true);
    expect(byCount.tryHold(session, true)).toBeNull();
    // a warm container is not a session: it needs room, not a session slot
    expect(byCount.tryHold(session, false)).not.toBeNull();
  });

  it('counts warm pool containers as held, yet as free capacity for sessions', () => {
    const b = budget({ AGENT_MEMORY_BYTES: String(4 * GiB) });
    const pooled = b.tryHold(session, false)!;
    b.tryHold(session, false);
    expect(b.tryHold(session, true)).toBeNull();
    expect(b.snapshot().freeSessions).toBe(2);
    expect(b.fitsWithoutPool(session)).toBe(true);
    pooled.toSession();
    expect(b.snapshot().freeSessions).toBe(1);
    expect(b.sessionsFull).toBe(false);
    b.holdAnyway(session);
    expect(b.fitsWithoutPool(session)).toBe(false);
  });

  it('holds a container that runs already whatever is left', () => {
    const b = budget({ AGENT_MEMORY_BYTES: String(GiB) });
    expect(b.tryHold(session, true)).toBeNull();
    expect(b.holdAnyway(session).forSession).toBe(true);
    expect(b.snapshot().freeSessions).toBe(0);
  });

  it('resized, keeps what it holds and tells the waiting when there is more room', () => {
    const b = budget({ AGENT_MEMORY_BYTES: String(4 * GiB) });
    b.tryHold(session, true);
    b.tryHold(session, true);
    let freed = 0;
    b.onFreed(() => freed++);
    b.resize({ memoryBytes: 2 * GiB, cpuNanos: 16e9 });
    expect(b.tryHold(session, true)).toBeNull();
    expect(b.snapshot()).toMatchObject({ memoryBytes: 2 * GiB, freeSessions: 0 });
    expect(freed).toBe(0);
    b.resize({ memoryBytes: 8 * GiB, cpuNanos: 16e9 });
    expect(freed).toBe(1);
    expect(b.tryHold(session, true)).not.toBeNull();
  });
});
