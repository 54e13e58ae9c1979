import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LoadBalancer, REPO_ROOT, TestPlatform } from '@sandbox/testing';

/**
 * The rolling upgrade of docs/runbooks/upgrade.md, for real: 3 agents and 2 control planes (behind
 * HAProxy) are replaced one at a time by tools/upgrade-agent.sh and tools/upgrade-control-plane.sh
 * while clients keep creating sessions and executions; then a build that cannot start is rolled back.
 * The processes run as a deployment runs them: from a release symlink, started by a command that
 * writes a pid file. The "new build" is a copy of dist/ whose agent reports another version.
 */
const LABEL = 'e2e-upgrade';
// real paths: the scripts and /proc name builds by them (.stack may be a symlink)
const BUILDS = join(realpathSync(join(REPO_ROOT, '.stack')), 'test-builds', LABEL);
const LOGS = join(REPO_ROOT, '.stack', 'test-logs');
const OLD = realpathSync(join(REPO_ROOT, 'dist'));
const NEXT = join(BUILDS, 'next');
const BROKEN = join(BUILDS, 'broken');
const NEXT_VERSION = '0.1.0-next';
const CLIENTS = 3;

/** One process as a deployment runs it: release link, start command, pid file. */
interface Deployed {
  readonly name: string;
  readonly release: string;
  readonly pidFile: string;
  readonly start: string;
}

function deploy(name: string, app: string, env: Record<string, string>): Deployed {
  const dir = join(BUILDS, name);
  mkdirSync(dir, { recursive: true });
  const release = join(dir, 'current');
  symlinkSync(OLD, release);
  const envFile = join(dir, 'env');
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'\n`).join(''));
  const pidFile = join(dir, 'pid');
  // the link is resolved at start: the process runs that build even when the link moves (and says
  // which one in its command line)
  const start = `set -a; . '${envFile}'; set +a; setsid '${process.execPath}' "$(readlink -f '${release}')/apps/${app}/src/main.js" >>'${join(LOGS, `${LABEL}-${name}.log`)}' 2>&1 </dev/null & echo $! >'${pidFile}'`;
  return { name, release, pidFile, start };
}

function pidOf(d: Deployed): number {
  return Number(readFileSync(d.pidFile, 'utf8').trim());
}

function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The build directory a running process was started from (its command line names it). */
function buildOf(d: Deployed): string {
  const argv = readFileSync(`/proc/${pidOf(d)}/cmdline`, 'utf8').split('\0');
  return argv[1]!.replace(/\/apps\/.*$/, '');
}

async function stopDeployed(d: Deployed): Promise<void> {
  if (!existsSync(d.pidFile)) return;
  const pid = pidOf(d);
  if (!running(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300 && running(pid); i++) await sleep(100);
  if (running(pid)) process.kill(pid, 'SIGKILL');
}

function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(REPO_ROOT, 'tools', script), ...args], { env: { PATH: process.env['PATH']!, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const TERMINAL = new Set(['completed', 'failed', 'timeout', 'crashed']);

/**
 * Clients that keep working through the load balancer: each creates a session, runs executions in it
 * (?wait_ms, then polling), deletes it, and starts over. 503 and 429 are retried after Retry-After
 * (and timed: the longest wait is the client-visible unavailability); anything else is a failure.
 */
class ClientLoad {
  readonly failures: string[] = [];
  /** execution id → the stdout it must end with */
  readonly executions = new Map<string, string>();
  readonly sessions = new Set<string>();
  completed = 0;
  retried = 0;
  longestUnavailableMs = 0;
  /** the longest an execution took from its POST to its result (a moved session's executions wait for it) */
  longestExecutionMs = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  start(clients: number): void {
    this.loops = Array.from({ length: clients }, (_, i) => this.client(i));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async client(i: number): Promise<void> {
    let seq = 0;
    while (!this.stopping) {
      try {
        const s = (await this.request('POST', '/v1/sessions', { template_id: 'python-basic' })).body;
        this.sessions.add(s.id);
        for (let n = 0; n < 6 && !this.stopping; n++) {
          const token = `client-${i}-${seq++}`;
          const posted = Date.now();
          let e = (await this.request('POST', `/v1/sessions/${s.id}/executions?wait_ms=3000`, { code: `print(${JSON.stringify(token)})` })).body;
          this.executions.set(e.id, `${token}\n`);
          const deadline = Date.now() + 120_000;
          while (!TERMINAL.has(e.status)) {
            if (Date.now() > deadline) throw new Error(`execution ${e.id} still ${e.status} after 120 s`);
            await sleep(200);
            e = (await this.request('GET', `/v1/executions/${e.id}`)).body;
          }
          if (e.status !== 'completed' || e.stdout !== `${token}\n`) throw new Error(`execution ${e.id} ended ${e.status}: ${JSON.stringify(e.stdout)} ${e.error ?? ''}`);
          this.longestExecutionMs = Math.max(this.longestExecutionMs, Date.now() - posted);
          this.completed++;
        }
        await this.request('DELETE', `/v1/sessions/${s.id}`);
      } catch (e) {
        this.failures.push(`client ${i}: ${(e as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** A request retried on 503/429 after Retry-After (with the same Idempotency-Key); throws on any other failure. */
  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = randomUUID();
    let unavailableSince: number | null = null;
    for (;;) {
      const res = await fetch(`${this.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }).catch((e: Error) => {
        throw new Error(`${method} ${path}: ${e.message} (${String((e as { cause?: unknown }).cause)})`);
      });
      const text = await res.text();
      if (res.status === 503 || res.status === 429) {
        unavailableSince ??= Date.now();
        if (Date.now() - unavailableSince > 60_000) throw new Error(`${method} ${path}: ${res.status} for over 60 s: ${text}`);
        this.retried++;
        const after = Number(res.headers.get('retry-after'));
        await sleep(after > 0 ? after * 1000 : 200);
        continue;
      }
      if (unavailableSince !== null) this.longestUnavailableMs = Math.max(this.longestUnavailableMs, Date.now() - unavailableSince);
      if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return { status: res.status, body: text ? JSON.parse(text) : null };
    }
  }
}

describe('rolling upgrade with work in flight (tools/upgrade-agent.sh, tools/upgrade-control-plane.sh)', () => {
  let p: TestPlatform;
  let lb: LoadBalancer;
  const agents: (Deployed & { node: string; metricsPort: number })[] = [];
  const planes: (Deployed & { port: number })[] = [];

  const agentScript = (a: (typeof agents)[number], build: string, extra: Record<string, string> = {}) =>
    runScript('upgrade-agent.sh', [a.node, build], {
      SANDBOX_API: lb.url,
      SANDBOX_API_KEY: p.adminKey,
      AGENT_RELEASE: a.release,
      AGENT_START: a.start,
      AGENT_PID_FILE: a.pidFile,
      AGENT_METRICS_URL: `http://127.0.0.1:${a.metricsPort}/metrics`,
      ...extra,
    });
  const planeScript = (c: (typeof planes)[number], build: string, extra: Record<string, string> = {}) =>
    runScript('upgrade-control-plane.sh', [c.name, build], {
      HAPROXY_SOCKET: lb.socket,
      CP_URL: `http://127.0.0.1:${c.port}`,
      CP_RELEASE: c.release,
      CP_START: c.start,
      CP_PID_FILE: c.pidFile,
      ...extra,
    });

  beforeAll(async () => {
    rmSync(BUILDS, { recursive: true, force: true });
    // the new build: the same code, an agent that reports another version
    cpSync(OLD, NEXT, { recursive: true });
    const config = join(NEXT, 'apps/runtime-agent/src/app/agent.config.js');
    writeFileSync(config, readFileSync(config, 'utf8').replace(/AGENT_VERSION = '[^']*'/, `AGENT_VERSION = '${NEXT_VERSION}'`));
    // a build that cannot start
    for (const app of ['runtime-agent', 'control-plane']) {
      mkdirSync(join(BROKEN, 'apps', app, 'src'), { recursive: true });
      writeFileSync(join(BROKEN, 'apps', app, 'src', 'main.js'), 'console.error("this build cannot start"); process.exit(1);\n');
    }

    p = await TestPlatform.start(LABEL, { agents: 0, warmPool: 'python-basic=1' });
    for (let i = 1; i <= 2; i++) {
      const port = await freePort();
      const d = deploy(`cp${i}`, 'control-plane', p.controlPlaneEnv(port));
      planes.push({ ...d, port });
    }
    for (let i = 1; i <= 3; i++) {
      const node = `${LABEL}-${i}`;
      const metricsPort = await freePort();
      p.nodeIds.push(node);
      // the agent's metrics endpoint is part of its health check
      agents.push({ ...deploy(`agent-${i}`, 'runtime-agent', { ...p.agentEnv(node), METRICS_PORT: String(metricsPort) }), node, metricsPort });
    }
    lb = await LoadBalancer.start(join(BUILDS, 'haproxy'), planes.map((c) => ({ name: c.name, port: c.port })));
    for (const d of [...planes, ...agents]) spawnStart(d);
    await p.until('both control planes UP behind haproxy', async () => (await lb.status('cp1')) === 'UP' && (await lb.status('cp2')) === 'UP', 60_000);
    await p.until(
      'every agent online',
      async () => (await p.query("SELECT id FROM runtime_nodes WHERE status = 'online'")).length === agents.length,
      60_000,
    );
  });

  afterAll(async () => {
    await Promise.all([...agents, ...planes].map(stopDeployed));
    await lb?.stop();
    await p?.stop();
    rmSync(BUILDS, { recursive: true, force: true });
  });

  it('upgrades 2 control planes and 3 agents under steady load: no failed request, no lost or doubled execution', async () => {
    const load = new ClientLoad(lb.url, p.adminKey);
    load.start(CLIENTS);
    const steps: string[] = [];
    const step = async (what: string, run: () => Promise<{ code: number | null; output: string }>) => {
      const before = load.completed;
      const t0 = Date.now();
      const r = await run();
      steps.push(`${what}: exit ${r.code} in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${load.completed - before} executions completed meanwhile`);
      expect({ what, code: r.code, output: r.code === 0 ? '' : r.output }).toEqual({ what, code: 0, output: '' });
      return load.completed - before;
    };
    const served = async (what: string) => {
      const from = load.completed;
      await p.until(what, async () => load.completed >= from + 10, 60_000);
    };
    try {
      await served('the load running before the upgrade');
      for (const c of planes) expect(await step(`control plane ${c.name}`, () => planeScript(c, NEXT))).toBeGreaterThan(0);
      for (const a of agents) expect(await step(`agent ${a.node}`, () => agentScript(a, NEXT))).toBeGreaterThan(0);
      await served('the upgraded fleet serving the load');
    } finally {
      await load.stop();
    }
    console.log(
      [
        ...steps,
        `${load.executions.size} executions in ${load.sessions.size} sessions, ${load.retried} retried 503/429 answers,`,
        `longest client-visible unavailability: ${load.longestUnavailableMs} ms (a request retried on 503/429 until answered),`,
        `longest execution from POST to result: ${load.longestExecutionMs} ms`,
      ].join('\n'),
    );
    expect(load.failures).toEqual([]);

    // every execution the clients created is recorded once, ended once, with its own output
    const rows = await p.query<{ id: string; status: string; stdout: string | Buffer; attempt: number; ended: number }>(
      `SELECT id, status, stdout, attempt, JSON_LENGTH(attempts) AS ended FROM executions WHERE session_id IN (${[...load.sessions].map(() => '?').join(',')})`,
      [...load.sessions],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...load.executions.keys()].sort());
    const wrong = rows.filter((r) => r.status !== 'completed' || String(r.stdout) !== load.executions.get(r.id) || r.attempt !== 1 || Number(r.ended) !== 1);
    expect(wrong).toEqual([]);
    const [moved] = await p.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM (SELECT session_id FROM executions WHERE session_id IN (${[...load.sessions].map(() => '?').join(',')})
        GROUP BY session_id HAVING COUNT(DISTINCT runtime_node) > 1) moved`,
      [...load.sessions],
    );
    console.log(`${moved!.n} sessions moved to another node between two of their executions`);

    // the new builds run: every node reports the new version, every process was started from it
    const nodes = await p.query<{ id: string; status: string; version: string }>('SELECT id, status, version FROM runtime_nodes ORDER BY id');
    expect(nodes).toEqual(agents.map((a) => ({ id: a.node, status: 'online', version: NEXT_VERSION })));
    for (const d of [...planes, ...agents]) {
      expect(readlinkSync(d.release)).toBe(NEXT);
      expect(buildOf(d)).toBe(NEXT);
    }
  });

  it('calls off a drain that does not end in time: the node keeps its process and build and takes work again', async () => {
    const s = await p.session();
    const a = agents.find((x) => x.node === s.runtime_node)!;
    const [previous, pid] = [readlinkSync(a.release), pidOf(a)];
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\ntime.sleep(3)\nprint("finished")' });
    await p.until('running', async () => (await p.api('GET', `/v1/executions/${posted.body.id}`)).body.status === 'running');
    const r = await agentScript(a, BROKEN, { DRAIN_WAIT_SECONDS: '1' });
    expect(r.code).toBe(1);
    expect(r.output).toContain('drain called off');
    const done = await p.until('finished', async () => {
      const e = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      return e.status === 'running' || e.status === 'pending' ? null : e;
    });
    expect(done).toMatchObject({ status: 'completed', stdout: 'finished\n', runtime_node: a.node });
    expect({ release: readlinkSync(a.release), pid: pidOf(a), running: running(pid) }).toEqual({ release: previous, pid, running: true });
    const e = await p.execute(s.id, { code: 'print("after")' });
    expect(e).toMatchObject({ status: 'completed', stdout: 'after\n', runtime_node: a.node });
    expect((await p.api('GET', `/v1/nodes/${a.node}`)).body.status).toBe('online');
  });

  it('rolls back a build that fails its health check: the previous build serves again, the script fails', async () => {
    // what runs now: the new build after the upgrade above, the old one when this case runs alone
    const [a] = agents;
    const previous = readlinkSync(a!.release);
    const r = await agentScript(a!, BROKEN, { READY_WAIT_SECONDS: '20' });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`rolled back, serving on ${previous} again`);
    expect(readlinkSync(a!.release)).toBe(previous);
    expect(buildOf(a!)).toBe(previous);
    const [node] = await p.query("SELECT status FROM runtime_nodes WHERE id = ? AND last_heartbeat_at > NOW(3) - INTERVAL 2 SECOND", [a!.node]);
    expect(node).toEqual({ status: 'online' });

    const [c] = planes;
    const cr = await planeScript(c!, BROKEN, { READY_WAIT_SECONDS: '20' });
    expect(cr.code).toBe(1);
    expect(cr.output).toContain(`rolled back, serving on ${previous} again`);
    expect(buildOf(c!)).toBe(previous);
    expect(await lb.status(c!.name)).toBe('UP');

    // and the platform serves through the load balancer
    const direct = new ClientLoad(lb.url, p.adminKey);
    direct.start(1);
    await p.until('an execution through the load balancer', async () => direct.completed > 0, 60_000);
    await direct.stop();
    expect(direct.failures).toEqual([]);
  });
});

function spawnStart(d: Deployed): void {
  const r = spawn('bash', ['-c', d.start], { stdio: 'ignore' });
  r.on('error', () => undefined);
}
