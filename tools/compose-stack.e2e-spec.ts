import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, until as waitUntil } from '@sandbox/testing';

/**
 * docker/docker-compose.yml started for real, on images built here (docker/docker-compose.test.yml):
 * MariaDB, Redis, S3, the migrate step, the sandbox images, a control plane, a reaper and three runtime
 * agents driving this host's Docker engine through the mounted socket, Prometheus, Alertmanager, the
 * host, MariaDB and Redis exporters and an OpenTelemetry Collector (Grafana alone is left out: no
 * Debian package). One agent container is killed mid-execution, another
 * cut off the compose network mid-execution; each execution is retried on another agent and ends once,
 * and the cut-off agent rejoins once reconnected. A project of its own, nothing published but the API
 * on a free port: the shared stack's MariaDB, Redis and S3 ports stay untouched.
 */
const run = promisify(execFile);
const PROJECT = `sandbox-e2e-${process.pid}`;
const NETWORK = `${PROJECT}_default`;
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed', 'cancelled'];
jest.setTimeout(240_000);
// the stack's services start and notice failures in seconds: waits of up to two minutes, polled twice a second
const until = <T>(what: string, probe: () => Promise<T | false | null | undefined>, ms = 120_000) => waitUntil(what, probe, ms, 500);
// s3rver takes this key only; host ports 0: Docker picks free ones
const ENV = { ...process.env, MINIO_ROOT_USER: 'S3RVER', MINIO_ROOT_PASSWORD: 'S3RVER', API_PORT: '0', MINIO_API_PORT: '0', MINIO_CONSOLE_PORT: '0', PROMETHEUS_PORT: '0' };

async function compose(...args: string[]): Promise<string> {
  const files = ['-f', join(REPO_ROOT, 'docker/docker-compose.yml'), '-f', join(REPO_ROOT, 'docker/docker-compose.test.yml')];
  const { stdout } = await run('docker-compose', ['-p', PROJECT, ...files, ...args], { env: ENV, maxBuffer: 64 << 20, timeout: 900_000 });
  return stdout;
}

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();
}

describe('the compose stack, started for real', () => {
  let url = '';
  let key = '';
  /** node id (the container's hostname) → container id, of every agent this project ever ran */
  const agents = new Map<string, string>();

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (method === 'POST') headers['idempotency-key'] = randomUUID();
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const session = async (): Promise<string> => {
    const r = await api('POST', '/v1/sessions', { template_id: 'python-basic' });
    if (r.status !== 201) throw new Error(`session: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  const post = async (sessionId: string, code: string): Promise<string> => {
    const r = await api('POST', `/v1/sessions/${sessionId}/executions`, { code });
    if (r.status !== 202) throw new Error(`not accepted: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  const get = async (id: string) => (await api('GET', `/v1/executions/${id}`)).body;
  const running = (id: string) => until(`${id} running`, async () => ((await get(id)).status === 'running' ? get(id) : null));
  const settled = async (id: string) => until(`${id} terminal`, async () => ((e) => TERMINAL.includes(e.status) && e)(await get(id)), 150_000);
  const nodeStatus = async (id: string) => (await api('GET', `/v1/nodes/${id}`)).body?.status;
  const refreshAgents = async () => {
    for (const id of (await compose('ps', '-q', 'runtime-agent')).split('\n').filter(Boolean)) {
      agents.set(await docker('inspect', '--format', '{{.Config.Hostname}}', id), id);
    }
  };
  /** the agent's attempt lost, the retry on another agent completed: one final outcome */
  const retriedElsewhere = (e: any, victim: string) => {
    expect(e).toMatchObject({ status: 'completed', stdout: 'written before\n', retry_count: 1, attempt: 2 });
    expect(e.runtime_node).not.toBe(victim);
    expect(e.attempts.map((a: { attempt: number; node: string; outcome: string }) => [a.attempt, a.node, a.outcome])).toEqual([
      [1, victim, 'agent_lost'],
      [2, e.runtime_node, 'completed'],
    ]);
  };

  beforeAll(async () => {
    const t0 = Date.now();
    // the collector the override mounts (cached after its first build)
    await run('bash', [join(REPO_ROOT, 'tools/otelcol-build.sh')], { timeout: 900_000 });
    await compose('up', '-d', '--build', '--scale', 'runtime-agent=3');
    url = `http://${(await compose('port', 'control-plane', '8000')).trim().replace(/^0\.0\.0\.0/, '127.0.0.1')}`;
    const created = await compose('exec', '-T', 'control-plane', 'node', 'dist/tools/api-keys.js', 'create', '--scope', 'admin', '--tenant', 'e2e', '--name', 'compose e2e');
    key = created.trim().split('\n').pop()!;
    await refreshAgents();
    expect(agents.size).toBe(3);
    await until('every service healthy', async () => {
      for (const id of (await compose('ps', '-q')).split('\n').filter(Boolean)) {
        if (!/^(healthy|exited 0)$/.test(await docker('inspect', '--format', '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}} {{.State.ExitCode}}{{end}}', id))) return false;
      }
      return true;
    });
    await until('three agents online', async () => (await Promise.all([...agents.keys()].map(nodeStatus))).every((s) => s === 'online'));
    console.log(`compose stack up, three agents online, in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 900_000);

  afterAll(async () => {
    await compose('down', '-v', '--remove-orphans').catch((e: Error) => console.error(e.message));
    // sandbox containers are the agents' own, outside the project: gone with their agents
    for (const node of agents.keys()) {
      const left = (await docker('ps', '-aq', '--filter', `label=sandbox.node=${node}`)).split('\n').filter(Boolean);
      if (left.length) await docker('rm', '-f', ...left);
    }
  }, 180_000);

  it('answers on the published port with every service healthy, and runs executions', async () => {
    const containers = (await compose('ps', '-q')).split('\n').filter(Boolean);
    const states = await Promise.all(
      containers.map(async (id) => {
        const [service, state, health] = (
          await docker('inspect', '--format', '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id)
        ).split(' ');
        return `${service} ${state} ${health ?? ''}`.trim();
      }),
    );
    // every service but Grafana (profile "monitoring"); the one-shot steps ran and exited: the sandbox
    // images a plain `up` builds among them
    expect(states.sort()).toEqual([
      'alertmanager running healthy',
      'control-plane running healthy',
      'mariadb running healthy',
      'migrate exited',
      'minio running healthy',
      'mysqld-exporter running healthy',
      'node-exporter running healthy',
      'otel-collector running healthy',
      'prometheus running healthy',
      'reaper running healthy',
      'redis running healthy',
      'redis-exporter running healthy',
      ...Array(3).fill('runtime-agent running healthy'),
      'sandbox-gcc exited',
      'sandbox-nodejs-basic exited',
      'sandbox-python-basic exited',
      'sandbox-python-datascience exited',
      'scrape-key exited',
    ]);
    const s = await session();
    const e = await settled(await post(s, 'print(6 * 7)'));
    expect(e).toMatchObject({ status: 'completed', stdout: '42\n', retry_count: 0 });
    expect([...agents.keys()]).toContain(e.runtime_node);
  });

  it('Prometheus scrapes every platform target with the key scrape-key made, every scaled agent, the exporters and the collector, and sends to Alertmanager', async () => {
    const prometheus = `http://${(await compose('port', 'prometheus', '9090')).trim().replace(/^0\.0\.0\.0/, '127.0.0.1')}`;
    const nodes = [...agents.keys()].sort();
    const prom = async (path: string): Promise<any> => ((await (await fetch(`${prometheus}${path}`)).json()) as { data: any }).data;
    const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> =>
      (await prom(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
    // agents found by DNS (refreshed every 15 s), each scraped every 15 s: up, and their samples name their node
    const want = { 'control-plane': 1, reaper: 1, 'runtime-agent': 3, node: 1, mysqld: 1, redis: 1, alertmanager: 1, 'otel-collector': 1 };
    await until('every target up', async () => {
      const targets = (await prom('/api/v1/targets?state=active')).activeTargets as { labels: { job: string }; health: string }[];
      const up = (job: string) => targets.filter((t) => t.labels.job === job && t.health === 'up').length;
      return Object.entries(want).every(([job, n]) => up(job) === n);
    });
    const q = await query('count by (node) (sandbox_node_capacity{job="runtime-agent"})');
    expect(q.map((r) => r.metric.node).sort()).toEqual(nodes);
    // the series the host and database alerts read exist (exporters of the Debian packages)
    for (const series of ['node_memory_MemAvailable_bytes{job="node"}', 'node_filesystem_avail_bytes{job="node"}', 'mysql_global_status_threads_connected', 'mysql_up', 'redis_up']) {
      expect([series, (await query(series)).length > 0]).toEqual([series, true]);
    }
    expect(Number((await query('mysql_up'))[0]!.value[1])).toBe(1);
    expect(Number((await query('redis_up'))[0]!.value[1])).toBe(1);
    // every rule evaluates, and Prometheus has found its Alertmanager
    const rules = (await prom('/api/v1/rules')).groups.flatMap((g: { rules: { name: string; health: string }[] }) => g.rules);
    expect(rules.length).toBe(16);
    expect(rules.filter((r: { health: string }) => r.health !== 'ok')).toEqual([]);
    expect((await prom('/api/v1/alertmanagers')).activeAlertmanagers).toHaveLength(1);
  });

  it('sends the spans of the apps to the OpenTelemetry Collector', async () => {
    const e = await settled(await post(await session(), 'print("traced")'));
    expect(e).toMatchObject({ status: 'completed', stdout: 'traced\n' });
    // the debug exporter (detailed) logs every span it got with its resource: both sides of an execution
    const seen = await until('spans of the control plane and an agent in the collector', async () => {
      // the collector logs to stderr
      const { stderr } = await run('docker', ['logs', (await compose('ps', '-q', 'otel-collector')).trim()], { maxBuffer: 256 << 20 });
      const services = new Set([...stderr.matchAll(/service\.name: Str\(([a-z-]+)\)/g)].map((m) => m[1]));
      return services.has('control-plane') && services.has('runtime-agent') && services;
    });
    expect([...seen]).toEqual(expect.arrayContaining(['control-plane', 'runtime-agent']));
  });

  it('docker kill of an agent mid-execution: retried on another agent with the workspace, ended once', async () => {
    const s = await session();
    expect((await settled(await post(s, 'open("state.txt", "w").write("written before")'))).status).toBe('completed');
    const id = await post(s, 'import time\ntime.sleep(3)\nprint(open("state.txt").read())');
    const victim = (await running(id)).runtime_node;
    await docker('kill', agents.get(victim)!);
    retriedElsewhere(await settled(id), victim);
    // a killed container stays down (a manual kill is not a crash for the restart policy): offline
    await until(`${victim} offline`, async () => (await nodeStatus(victim)) === 'offline');
    await compose('up', '-d', '--no-recreate', '--scale', 'runtime-agent=3');
    await refreshAgents();
    await until(`${victim} online again`, async () => (await nodeStatus(victim)) === 'online');
  });

  it('an agent cut off the compose network mid-execution: fenced, its run retried elsewhere, online again by itself once reconnected', async () => {
    const s = await session();
    expect((await settled(await post(s, 'open("state.txt", "w").write("written before")'))).status).toBe('completed');
    const id = await post(s, 'import time\ntime.sleep(3)\nprint(open("state.txt").read())');
    const victim = (await running(id)).runtime_node;
    await docker('network', 'disconnect', NETWORK, agents.get(victim)!);
    try {
      retriedElsewhere(await settled(id), victim);
      expect(await nodeStatus(victim)).toBe('offline');
    } finally {
      await docker('network', 'connect', NETWORK, agents.get(victim)!);
    }
    // its connections from before the cut are dead (the container may come back with another address):
    // the queries on them time out, the connections are dropped, the fence goes on over new ones
    await until(`${victim} online again`, async () => (await nodeStatus(victim)) === 'online');
    // it takes work again: sessions are placed on it
    const ran = new Set<string>();
    await until('an execution on the rejoined agent', async () => {
      const e = await settled(await post(await session(), 'print("rejoined")'));
      expect(e).toMatchObject({ status: 'completed', stdout: 'rejoined\n' });
      ran.add(e.runtime_node);
      return ran.has(victim);
    });
  });
});
