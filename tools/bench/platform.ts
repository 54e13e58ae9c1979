// The platform's latency, throughput and memory, each next to its physical baseline measured in the
// same run on this machine (issue 6). Usage: npm run bench (writes tools/bench/results/latest.json and
// prints a markdown table). Baselines:
//   host spawn        /usr/bin/python3 -c 'print(1)' started on the host (the sandbox's interpreter)
//   docker exec       the same program through the Docker API into a running sandbox container
//   http rtt          GET /health of the control plane (no database, no queue)
//   docker create     create + start of a sandbox container through the Docker API
//   host datascience  /usr/bin/python3 -c 'import numpy, pandas' on the host, Debian's packages as in the image
// The platform runs as `npm start` runs it (no tracing); span timings come from a second, traced platform.
// Per execution it prints the CPU of every process (control plane, agent, MariaDB, Redis, dockerd,
// containerd, the sandboxes), MariaDB statements and Redis commands (issue 18).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { otlpReceiver, REPO_ROOT, TestPlatform } from '@sandbox/testing';
import { cpuPerExecution, cpuSample, roundTrips, stackRedis } from './accounting';

const WARM_RUNS = 200;
const BASELINE_RUNS = 100;
const SESSION_RUNS = 15;
const THROUGHPUT_SECONDS = 8;
const CONCURRENCY = [1, 4, 16] as const;
const DATASCIENCE_RUNS = 50;
const PROFILE_RUNS = 100;
const PRINT_1 = 'print(1)';
const IMPORT_DATASCIENCE = 'import numpy, pandas';
/** The settings `npm start` runs with where TestPlatform's differ (its debug logs, its fast heartbeat). */
const DEPLOYED = { LOG_LEVEL: 'info', HEARTBEAT_INTERVAL_MS: '2000' };
const WARM_POOL = 'python-basic=2,python-datascience=1';

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const round = (n: number) => Math.round(n * 100) / 100;

async function timed(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out.push(ms(t0));
  }
  return out;
}

/** Runs `fn` from `concurrency` workers for `seconds`: completions, and per second. */
async function throughput(concurrency: number, seconds: number, fn: (worker: number) => Promise<unknown>): Promise<{ done: number; perSecond: number }> {
  const until = Date.now() + seconds * 1000;
  let done = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (Date.now() < until) {
        await fn(w);
        done++;
      }
    }),
  );
  return { done, perSecond: done / (ms(t0) / 1000) };
}

function hostSpawn(code: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-c', code], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`python3 exited ${code}`))));
  });
}

async function dockerExec(containerId: string): Promise<void> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['python3', '-c', PRINT_1], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.resume();
  });
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`docker exec exited ${ExitCode}`);
}

async function dockerCreateStart(image: string): Promise<string> {
  const c = await docker.createContainer({ Image: image, Cmd: ['sleep', 'infinity'], HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true } });
  await c.start();
  return c.id;
}

function machine(): string {
  const os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'linux';
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${os}, Node ${process.version}`;
}

/** The host's own python3 with the datascience template's packages (Debian's, as in its image). */
function hostDatascience(): void {
  if (spawnSync('/usr/bin/python3', ['-c', IMPORT_DATASCIENCE]).status === 0) return;
  const apt = (...args: string[]) => spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  const install = () => apt('install', '-y', '-qq', '--no-install-recommends', 'python3-numpy', 'python3-pandas');
  // package lists may be missing or stale on a fresh machine: refreshed once, then tried again
  if (!install() && !(apt('update', '-qq') && install())) throw new Error('cannot install python3-numpy and python3-pandas on the host (the datascience baseline)');
}

/** Span p50s of warm runs on a platform with tracing on (a profile: tracing costs time of its own). */
async function profile(): Promise<Record<string, number>> {
  const otlp = await otlpReceiver();
  const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlp.port}`, OTEL_BSP_SCHEDULE_DELAY: '500' };
  const p = await TestPlatform.start('bench-profile', { warmPool: 'python-basic=1', agentEnv: { ...DEPLOYED, ...tracing }, controlPlaneEnv: { ...DEPLOYED, RATE_LIMIT_REQUESTS: '0', ...tracing } });
  try {
    const s = await p.session();
    const traces = new Set<string>();
    for (let i = 0; i < PROFILE_RUNS + 10; i++) {
      const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait=true`, { code: PRINT_1 });
      const trace = r.headers.get('traceparent')?.split('-')[1];
      if (i >= 10 && trace) traces.add(trace);
    }
    await new Promise((r) => setTimeout(r, 1500));
    const spanMs = new Map<string, number[]>();
    for (const x of otlp.spans.filter((y) => traces.has(y.traceId))) {
      const name = `${x.service} ${x.name.replace(/sandbox-node-[^ .]+/, 'sandbox-node-<id>')}`;
      spanMs.set(name, [...(spanMs.get(name) ?? []), Number(x.endNs - x.startNs) / 1e6]);
    }
    return Object.fromEntries([...spanMs].filter(([, v]) => v.length >= PROFILE_RUNS / 2).map(([k, v]) => [k, round(q(v, 0.5))]));
  } finally {
    await p.stop();
    otlp.server.close();
  }
}

async function main(): Promise<void> {
  hostDatascience();
  const redis = stackRedis();
  // as deployed (`npm start`): info logs, the default heartbeat, no tracing; the profile below traces
  const p = await TestPlatform.start('bench', {
    warmPool: WARM_POOL,
    agentEnv: { AGENT_CAPACITY: '16', AGENT_MAX_SESSIONS: '40', ...DEPLOYED },
    controlPlaneEnv: { RATE_LIMIT_REQUESTS: '0', TENANT_MAX_SESSIONS: '100', ...DEPLOYED },
  });
  const node = p.nodeIds[0]!;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= p.stop());
  try {
    const trips = () => roundTrips((sql) => p.query(sql), redis);
    const run = async (sessionId: string, code = PRINT_1, stdout = '1\n') => {
      const r = await p.api('POST', `/v1/sessions/${sessionId}/executions?wait=true`, { code });
      if (r.body.status !== 'completed' || r.body.stdout !== stdout) throw new Error(`execution ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body;
    };

    // the warm pool refills shortly after a claim: each measure starts once it has (steady state, not
    // a container starting in the middle of it)
    const pooled = WARM_POOL.split(',').reduce((n, t) => n + Number(t.split('=')[1]), 0);
    const settled = (sessions: number) =>
      p.until('the warm pool refilled', async () => p.containers(`sandbox.node=${node}`).length === sessions + pooled, 60_000);

    // warm execution through the whole platform, and where its time goes (database clock, ms)
    const s = await p.session();
    await settled(1);
    for (let i = 0; i < 20; i++) await run(s.id);
    const ids: string[] = [];
    const tripsBefore = await trips();
    const warm = await timed(WARM_RUNS, async () => ids.push((await run(s.id)).id));
    const tripsAfter = await trips();
    const rows: { created: Date; started: Date; completed: Date; wall: number }[] = await p.query(
      "SELECT created_at AS created, started_at AS started, completed_at AS completed, JSON_EXTRACT(resource_usage, '$.wall_ms') AS wall FROM executions WHERE id IN (?)",
      [ids],
    );
    const queue = rows.map((r) => r.started.getTime() - r.created.getTime());
    const agentSide = rows.map((r) => r.completed.getTime() - r.started.getTime());
    const inSandbox = rows.map((r) => Number(r.wall));

    const hostSpawnMs = await timed(BASELINE_RUNS, () => hostSpawn(PRINT_1));
    const containerId = (await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id as string;
    await timed(5, () => dockerExec(containerId));
    const dockerExecMs = await timed(BASELINE_RUNS, () => dockerExec(containerId));
    const rtt = await timed(BASELINE_RUNS * 2, () => p.api('GET', '/health'));

    // the datascience template: its executor has numpy and pandas imported before the program forks
    const ds = await p.session('python-datascience');
    for (let i = 0; i < 5; i++) await run(ds.id, IMPORT_DATASCIENCE, '');
    const dsWarm = await timed(DATASCIENCE_RUNS, () => run(ds.id, IMPORT_DATASCIENCE, ''));
    await timed(3, () => hostSpawn(IMPORT_DATASCIENCE));
    const dsHost = await timed(DATASCIENCE_RUNS, () => hostSpawn(IMPORT_DATASCIENCE));
    await p.api('DELETE', `/v1/sessions/${ds.id}`);

    // session start: a claim from the warm pool, and a cold one (resources off the template default)
    const start = async (extra: Record<string, unknown>) => {
      const t0 = process.hrtime.bigint();
      const created = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', ...extra });
      for (;;) {
        const now = (await p.api('GET', `/v1/sessions/${created.body.id}`)).body;
        if (now.status === 'running') break;
        if (now.status !== 'creating') throw new Error(`session ${now.status}: ${now.error}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      const took = ms(t0);
      await p.api('DELETE', `/v1/sessions/${created.body.id}`);
      return took;
    };
    const claim: number[] = [];
    for (let i = 0; i < SESSION_RUNS; i++) {
      // the pool refills in the background: give it the time a real client's pace would
      await new Promise((r) => setTimeout(r, 2500));
      claim.push(await start({}));
    }
    const cold = await timed(SESSION_RUNS, () => start({ resources: { memory: '384Mi' } }));
    const image = 'sandbox-python:3.11-basic';
    const created: string[] = [];
    const createStart = await timed(SESSION_RUNS, async () => created.push(await dockerCreateStart(image)));
    await Promise.all(created.map((id) => docker.getContainer(id).remove({ force: true })));

    // throughput across sessions, each worker on its own session (a session runs one at a time); the
    // CPU every process spent meanwhile, per execution, at the highest concurrency
    const sessions = [s];
    while (sessions.length < 16) sessions.push(await p.session());
    await settled(sessions.length);
    const containers = await Promise.all(sessions.map(async (x) => (await p.api('GET', `/v1/sessions/${x.id}`)).body.container_id as string));
    const platformTp: Record<number, number> = {};
    const dockerTp: Record<number, number> = {};
    let cpu: Record<string, number> = {};
    let dockerCpu: Record<string, number> = {};
    let rssAgent = 0;
    let rssControlPlane = 0;
    for (const c of CONCURRENCY) {
      let before = cpuSample(p.pids());
      const platformRun = await throughput(c, THROUGHPUT_SECONDS, (w) => run(sessions[w]!.id));
      if (c === 16) cpu = cpuPerExecution(before, cpuSample(p.pids()), platformRun.done);
      platformTp[c] = platformRun.perSecond;
      rssAgent = Math.max(rssAgent, p.agentRss(node));
      rssControlPlane = Math.max(rssControlPlane, p.controlPlaneRss());
      before = cpuSample(p.pids());
      const dockerRun = await throughput(c, THROUGHPUT_SECONDS, (w) => dockerExec(containers[w]!));
      if (c === 16) dockerCpu = cpuPerExecution(before, cpuSample(p.pids()), dockerRun.done);
      dockerTp[c] = dockerRun.perSecond;
    }
    await stop();
    const spans = await profile();

    const result = {
      measured_at: new Date().toISOString(),
      machine: machine(),
      warm_exec_p50_ms: round(q(warm, 0.5)),
      warm_exec_p95_ms: round(q(warm, 0.95)),
      warm_exec_p99_ms: round(q(warm, 0.99)),
      host_spawn_p50_ms: round(q(hostSpawnMs, 0.5)),
      docker_exec_p50_ms: round(q(dockerExecMs, 0.5)),
      throughput_per_s: round(platformTp[16]!),
      docker_exec_throughput_per_s: round(dockerTp[16]!),
      throughput_by_concurrency: Object.fromEntries(CONCURRENCY.map((c) => [c, { platform_per_s: round(platformTp[c]!), docker_exec_per_s: round(dockerTp[c]!) }])),
      session_claim_p50_ms: round(q(claim, 0.5)),
      session_cold_p50_ms: round(q(cold, 0.5)),
      docker_create_start_p50_ms: round(q(createStart, 0.5)),
      http_rtt_p50_ms: round(q(rtt, 0.5)),
      queue_overhead_p50_ms: round(q(queue, 0.5)),
      datascience_import_p50_ms: round(q(dsWarm, 0.5)),
      host_datascience_import_p50_ms: round(q(dsHost, 0.5)),
      cpu_ms_per_execution: cpu,
      docker_exec_cpu_ms_per_execution: dockerCpu,
      db_round_trips_per_execution: round((tripsAfter.db - tripsBefore.db - 1) / WARM_RUNS),
      redis_commands_per_execution: round((tripsAfter.redis - tripsBefore.redis - 1) / WARM_RUNS),
      warm_exec_breakdown_p50_ms: {
        accept_to_agent_start: round(q(queue, 0.5)),
        agent_start_to_result_written: round(q(agentSide, 0.5)),
        program_wall_in_sandbox: round(q(inSandbox, 0.5)),
      },
      warm_exec_span_p50_ms: spans,
      agent_rss_mb: round(rssAgent / 2 ** 20),
      control_plane_rss_mb: round(rssControlPlane / 2 ** 20),
      runs: { warm_exec: WARM_RUNS, baselines: BASELINE_RUNS, sessions: SESSION_RUNS, throughput_seconds: THROUGHPUT_SECONDS, datascience: DATASCIENCE_RUNS, profile: PROFILE_RUNS },
    };
    const targets = [
      ['warm exec p50 ≤ 1× host spawn p50', result.warm_exec_p50_ms / result.host_spawn_p50_ms, 1],
      ['warm exec p99 ≤ 2× its p50', result.warm_exec_p99_ms / result.warm_exec_p50_ms, 2],
      ['throughput at 16 ≥ 5× docker exec at 16', result.docker_exec_throughput_per_s / result.throughput_per_s, 1 / 5],
      ['warm claim ≤ HTTP rtt + 15 ms', (result.session_claim_p50_ms - result.http_rtt_p50_ms) / 15, 1],
      ['cold start ≤ 1× docker create+start', result.session_cold_p50_ms / result.docker_create_start_p50_ms, 1],
      ['datascience import warm ≤ 0.2× host spawn', result.datascience_import_p50_ms / result.host_datascience_import_p50_ms, 0.2],
    ] as const;
    mkdirSync(join(REPO_ROOT, 'tools/bench/results'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'tools/bench/results/latest.json'), `${JSON.stringify({ ...result, targets: targets.map(([t, v, max]) => ({ target: t, met: v <= max })) }, null, 2)}\n`);
    const row = (what: string, value: number, base: string, baseValue: number) => `| ${what} | ${value} | ${base} | ${baseValue} | ${round(value / baseValue)}× |`;
    const cpuRow = (name: string) => `| ${name} | ${cpu[name] ?? 0} | ${dockerCpu[name] ?? 0} |`;
    console.log(
      [
        `\n### Platform benchmark — ${result.machine}\n`,
        '| measure | platform | baseline | baseline value | ratio |',
        '|---|---|---|---|---|',
        row('warm exec p50 (ms)', result.warm_exec_p50_ms, 'host spawn p50', result.host_spawn_p50_ms),
        row('warm exec p50 (ms)', result.warm_exec_p50_ms, 'docker exec p50', result.docker_exec_p50_ms),
        row('warm exec p95 (ms)', result.warm_exec_p95_ms, 'docker exec p50', result.docker_exec_p50_ms),
        row('warm exec p99 (ms)', result.warm_exec_p99_ms, 'warm exec p50', result.warm_exec_p50_ms),
        ...CONCURRENCY.map((c) => row(`throughput at ${c} (exec/s)`, round(platformTp[c]!), `docker exec at ${c}`, round(dockerTp[c]!))),
        row('session claim, warm pool p50 (ms)', result.session_claim_p50_ms, 'HTTP round trip p50', result.http_rtt_p50_ms),
        row('session start, cold p50 (ms)', result.session_cold_p50_ms, 'docker create+start p50', result.docker_create_start_p50_ms),
        row('`import numpy, pandas` warm p50 (ms)', result.datascience_import_p50_ms, 'host spawn of it p50', result.host_datascience_import_p50_ms),
        row('queue overhead p50 (ms)', result.queue_overhead_p50_ms, 'warm exec p50', result.warm_exec_p50_ms),
        `\nCPU-ms per execution at concurrency 16 (platform | docker exec):\n\n| process | platform | docker exec |\n|---|---|---|`,
        ...Object.keys({ ...cpu, ...dockerCpu }).map(cpuRow),
        `\nround trips per warm execution: MariaDB ${result.db_round_trips_per_execution} statements, Redis ${result.redis_commands_per_execution} commands`,
        `warm exec p50 split: accept → agent start ${result.warm_exec_breakdown_p50_ms.accept_to_agent_start} ms, agent start → result written ${result.warm_exec_breakdown_p50_ms.agent_start_to_result_written} ms (program ${result.warm_exec_breakdown_p50_ms.program_wall_in_sandbox} ms)`,
        `span p50 with tracing on (ms): ${Object.entries(spans).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `memory under load: agent ${result.agent_rss_mb} MiB, control plane ${result.control_plane_rss_mb} MiB RSS\n`,
        ...targets.map(([t, v, max]) => `- ${v <= max ? 'met' : 'MISSED'}: ${t} (${round(v)} vs ${round(max)})`),
      ].join('\n'),
    );
  } finally {
    await stop();
    redis.disconnect();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
