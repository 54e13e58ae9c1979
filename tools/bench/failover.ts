// Detection-to-retry after `kill -9` of an agent, with the default heartbeat (2 s), staleness (10 s)
// and reaper tick (2 s): two agents, an execution running on one of them, the agent killed; measured
//   detected: kill → the reaper recorded the attempt as agent_lost (its ended_at)
//   retried:  kill → the next attempt started on the other agent (its started_at)
// median over RUNS runs. Usage: npm run bench:failover   (writes tools/bench/results/failover.json)
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TestPlatform } from '@sandbox/testing';

const RUNS = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const p = await TestPlatform.start('bench-failover', { agents: 2, warmPool: 'python-basic=1' });
  p.startReaper({});
  const detected: number[] = [];
  const retried: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const s = await p.session();
      const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\ntime.sleep(120)', timeout: 300 });
      const id = posted.body.id as string;
      const first = await p.until('running', async () => {
        const e = (await p.api('GET', `/v1/executions/${id}`)).body;
        return e.status === 'running' && e;
      });
      const killedAt = Date.now();
      await p.stopAgent(first.runtime_node, 'SIGKILL');
      const again = await p.until(
        'retried',
        async () => {
          const e = (await p.api('GET', `/v1/executions/${id}`)).body;
          return e.attempt === 2 && e.status === 'running' && e;
        },
        120_000,
      );
      detected.push(Date.parse(again.attempts[0].ended_at) - killedAt);
      retried.push(Date.parse(again.started_at) - killedAt);
      console.log(`run ${run}: detected after ${detected.at(-1)} ms, retried after ${retried.at(-1)} ms`);
      await p.api('DELETE', `/v1/sessions/${s.id}`);
      // back to two agents for the next run
      const fresh = p.startAgent();
      await p.until('replacement online', async () => (await p.api('GET', `/v1/nodes/${fresh}`)).body.status === 'online');
    }
  } finally {
    await p.stop();
  }
  const report = {
    measured_at: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    settings: { heartbeat_interval_ms: 2000, stale_after_seconds: 10, reaper_interval_ms: 2000 },
    runs: RUNS,
    detected_median_ms: median(detected),
    retried_median_ms: median(retried),
    retried_max_ms: Math.max(...retried),
    detected_ms: detected,
    retried_ms: retried,
  };
  mkdirSync(join(REPO_ROOT, 'tools/bench/results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, 'tools/bench/results/failover.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nkill -9 of an agent, default settings, ${RUNS} runs (${report.machine}):`);
  console.log(`| | median | max |\n|---|---:|---:|`);
  console.log(`| detected (attempt recorded agent_lost) | ${report.detected_median_ms} ms | ${Math.max(...detected)} ms |`);
  console.log(`| retried (next attempt running elsewhere) | ${report.retried_median_ms} ms | ${report.retried_max_ms} ms |`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
