// The platform with N runtime agents (1, 2, 4, 8: each its own process, node id and capacity) against
// one control plane, MariaDB and Redis: sustained executions/s, and which resource saturates first:
// the CPU of each process (cores busy), MariaDB statements and writes per second, Redis commands per
// second. All on this one host, so the agents share its cores with everything else: the curve shows
// where the central services stand when agents are added, not what N hosts would do.
// Usage: npm run bench:scale   (writes tools/bench/results/scale.json)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { REPO_ROOT, TestPlatform } from '@sandbox/testing';
import { cpuSample, roundTrips, stackRedis } from './accounting';

const AGENTS = [1, 2, 4, 8] as const;
const CLIENTS = 16;
const SECONDS = 10;
const WARMUP_SECONDS = 4;
/** Each a write transaction under autocommit (the claim is a multi-table UPDATE). */
const WRITES = ['Com_insert', 'Com_update', 'Com_update_multi', 'Com_delete', 'Com_commit'] as const;
const round = (n: number) => Math.round(n * 100) / 100;

interface ScaleRow {
  readonly agents: number;
  readonly nodes_holding_sessions: number;
  readonly executions_per_s: number;
  readonly cores_busy: Record<string, number>;
  readonly cores_busy_total: number;
  readonly busiest_process: string;
  readonly db_statements_per_s: number;
  readonly db_writes_per_s: number;
  readonly redis_commands_per_s: number;
}

async function measure(agents: number): Promise<ScaleRow> {
  const perAgent = Math.ceil(CLIENTS / agents);
  const p = await TestPlatform.start(`bench-scale-${agents}`, {
    agents,
    warmPool: 'python-basic=1',
    agentEnv: { AGENT_CAPACITY: String(perAgent), AGENT_MAX_SESSIONS: String(perAgent + 4), LOG_LEVEL: 'info', HEARTBEAT_INTERVAL_MS: '2000' },
    controlPlaneEnv: { RATE_LIMIT_REQUESTS: '0', TENANT_MAX_SESSIONS: '100', LOG_LEVEL: 'info' },
  });
  const redis = stackRedis();
  try {
    const sessions: { id: string }[] = [];
    while (sessions.length < CLIENTS) sessions.push(await p.session());
    const nodes = new Set((await p.query<{ n: string }>('SELECT runtime_node AS n FROM sessions')).map((r) => r.n)).size;
    const run = async (sid: string) => {
      const r = await p.api('POST', `/v1/sessions/${sid}/executions?wait=true`, { code: 'print(1)' });
      if (r.body.status !== 'completed') throw new Error(`execution ${r.status}: ${JSON.stringify(r.body)}`);
    };
    const load = async (seconds: number) => {
      const until = Date.now() + seconds * 1000;
      let done = 0;
      await Promise.all(
        sessions.map(async (s) => {
          while (Date.now() < until) {
            await run(s.id);
            done++;
          }
        }),
      );
      return done;
    };
    // the processes' JIT warms up first, as on a platform that has been serving a while
    await load(WARMUP_SECONDS);
    const writes = async () =>
      (await p.query<{ Value: string }>(`SHOW GLOBAL STATUS WHERE Variable_name IN (${WRITES.map(() => '?').join(', ')})`, [...WRITES])).reduce((n, r) => n + Number(r.Value), 0);
    const [cpu0, trips0, writes0] = [cpuSample(p.pids()), await roundTrips((sql) => p.query(sql), redis), await writes()];
    const t0 = performance.now();
    const done = await load(SECONDS);
    const seconds = (performance.now() - t0) / 1000;
    const [cpu1, trips1, writes1] = [cpuSample(p.pids()), await roundTrips((sql) => p.query(sql), redis), await writes()];
    const cores: Record<string, number> = {};
    for (const [name, v] of cpu1) cores[name] = round((v - (cpu0.get(name) ?? 0)) / 1000 / seconds);
    const busiest = Object.entries(cores)
      .filter(([n]) => n !== 'bench client')
      .sort((a, b) => b[1] - a[1])[0]!;
    return {
      agents,
      nodes_holding_sessions: nodes,
      executions_per_s: round(done / seconds),
      cores_busy: cores,
      cores_busy_total: round(Object.values(cores).reduce((a, b) => a + b, 0)),
      busiest_process: busiest[0],
      db_statements_per_s: round((trips1.db - trips0.db) / seconds),
      db_writes_per_s: round((writes1 - writes0) / seconds),
      redis_commands_per_s: round((trips1.redis - trips0.redis) / seconds),
    };
  } finally {
    redis.disconnect();
    await p.stop();
  }
}

async function main(): Promise<void> {
  const rows: ScaleRow[] = [];
  for (const n of AGENTS) rows.push(await measure(n));
  const result = { measured_at: new Date().toISOString(), cores: cpus().length, clients: CLIENTS, seconds: SECONDS, rows };
  writeFileSync(join(REPO_ROOT, 'tools/bench/results/scale.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    [
      `\n### Scale: N agents, one control plane, MariaDB and Redis (${cpus().length} cores, ${CLIENTS} clients)\n`,
      '| agents | exec/s | busiest process (cores) | cores busy in all | MariaDB statements/s | MariaDB writes/s | Redis commands/s |',
      '|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.agents} | ${r.executions_per_s} | ${r.busiest_process} (${r.cores_busy[r.busiest_process]}) | ${r.cores_busy_total} | ${r.db_statements_per_s} | ${r.db_writes_per_s} | ${r.redis_commands_per_s} |`,
      ),
      '',
      ...rows.map((r) => `${r.agents} agents, cores busy: ${Object.entries(r.cores_busy).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
