import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createPool, type Pool } from 'mysql2/promise';
import { type ApiKeyScope, generateApiKey } from '@sandbox/domain';
import { S3WorkspaceStore } from '@sandbox/storage';
import { LOCAL_CLUSTER } from './local-cluster';
import { freePort } from './ports';
import { type PrivateServices } from './private-services';
import { REPO_ROOT, stackEnv } from './stack';
import { createTestDatabase, type TestDatabase } from './test-database';
import { deleteQueueKeys, testQueuePrefix } from './test-redis';
import { createTestStore, type TestStore } from './test-store';
import { until } from './until';

export interface PlatformOptions {
  /** Runtime agents to start (each its own node id and process). */
  readonly agents?: number;
  /** WARM_POOL of every agent. */
  readonly warmPool?: string;
  readonly agentEnv?: Readonly<Record<string, string>>;
  readonly controlPlaneEnv?: Readonly<Record<string, string>>;
  /** Workspace store: a fresh bucket on the stack's S3 server (default) or a fresh directory. */
  readonly storage?: 's3' | 'fs';
  /** Redis, MariaDB and S3 of the fault suite instead of the stack's. */
  readonly services?: PrivateServices;
}

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

const LOG_DIR = join(REPO_ROOT, '.stack', 'test-logs');
/** WEBHOOK_SECRET of every control plane a test starts. */
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdef';
const DIST = join(REPO_ROOT, 'dist', 'apps');

/**
 * The built control plane and runtime agents as real processes, on the real stack, isolated from
 * everything else: a database of their own loaded from init.sql, a BullMQ prefix of their own, node
 * ids of their own (so container labels too). Logs go to .stack/test-logs/.
 */
export class TestPlatform {
  readonly agents = new Map<string, ChildProcess>();
  private reapers: ChildProcess[] = [];
  /** Every node id ever started here, stopped or not: their containers go at the end. */
  readonly nodeIds: string[] = [];
  private controlPlane: ChildProcess | null = null;
  private readonly replicas: ChildProcess[] = [];
  private sql: Pool | null = null;
  /** The secret of an admin key of tenant 'ops': `api` sends it unless told otherwise. */
  adminKey = '';

  private constructor(
    readonly label: string,
    readonly db: TestDatabase,
    readonly storage: TestStore,
    readonly prefix: string,
    readonly port: number,
    readonly redisUrl: string,
    private readonly options: PlatformOptions,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(label: string, options: PlatformOptions = {}): Promise<TestPlatform> {
    const services = options.services;
    const db = await createTestDatabase(label, services?.mariadb.adminUrl);
    const storage = services ? privateStore(services) : await createTestStore(options.storage ?? 's3');
    const redisUrl = services?.redis.url ?? stackEnv().REDIS_URL;
    const platform = new TestPlatform(label, db, storage, testQueuePrefix(label), await freePort(), redisUrl, options);
    try {
      // a pool: it reconnects after the suite restarts the database
      platform.sql = createPool({ uri: db.url, timezone: 'Z', connectionLimit: 2 });
      platform.adminKey = (await platform.createKey('admin', 'ops')).secret;
      for (let i = 0; i < (options.agents ?? 1); i++) platform.startAgent();
      platform.startControlPlane();
      await platform.started();
      return platform;
    } catch (e) {
      await platform.stop();
      throw e;
    }
  }

  /** Starts one more agent; its node id is returned. */
  startAgent(nodeId = `${this.label.slice(0, 12)}-${randomBytes(3).toString('hex')}`): string {
    this.nodeIds.push(nodeId);
    this.agents.set(nodeId, this.spawn(`agent-${nodeId}`, join(DIST, 'runtime-agent/src/main.js'), this.agentEnv(nodeId)));
    return nodeId;
  }

  /** Starts a reaper (several may run: one of them runs each tick); its tasks as the env sets them. */
  startReaper(env: Record<string, string> = {}): void {
    this.reapers.push(this.spawn(`reaper-${this.reapers.length + 1}`, join(DIST, 'reaper/src/main.js'), env));
  }

  /** Stops every reaper. */
  async stopReapers(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const reapers = this.reapers;
    this.reapers = [];
    await Promise.all(reapers.map((r) => stopProcess(r, signal)));
  }

  /** Sends a signal to an agent process and waits for it to exit; says how it ended. */
  async stopAgent(nodeId: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessEnd> {
    const child = this.agents.get(nodeId);
    if (!child) throw new Error(`no agent ${nodeId}`);
    this.agents.delete(nodeId);
    return stopProcess(child, signal);
  }

  /** Stores an API key straight in the database, as the CLI does; the secret is returned once. */
  async createKey(scope: ApiKeyScope, tenant: string, extra: { expiresAt?: Date; name?: string } = {}): Promise<{ id: string; secret: string }> {
    const { id, secret, prefix, hash } = generateApiKey(randomBytes);
    await this.query('INSERT INTO api_keys (id, prefix, key_hash, name, scope, tenant, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      id,
      prefix,
      hash,
      extra.name ?? `${scope}-${tenant}`,
      scope,
      tenant,
      extra.expiresAt ?? null,
    ]);
    return { id, secret };
  }

  /** The Authorization header of a key (the admin key by default). */
  authorization(secret = this.adminKey): Record<string, string> {
    return { authorization: `Bearer ${secret}` };
  }

  /**
   * A request with the admin key, unless `headers` brings its own `authorization` (an empty one is
   * left out: no key at all).
   */
  async api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const raw = typeof body === 'string' || body === undefined ? body : JSON.stringify(body);
    const sent: Record<string, string> = { ...this.authorization(), ...headers };
    if (!sent['authorization']) delete sent['authorization'];
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: raw !== undefined ? { 'content-type': 'application/json', ...sent } : sent,
      ...(raw !== undefined ? { body: raw } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (e.g. /docs HTML): the text as it is
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /**
   * A request whose path goes out byte for byte as given (fetch would resolve '..' and '%2e%2e'
   * before sending): for the path-traversal cases.
   */
  raw(method: string, path: string, body?: Buffer): Promise<ApiResponse<any> & { bytes: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path, headers: { ...this.authorization(), ...(body ? { 'content-length': body.length } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(bytes.toString());
          } catch {
            parsed = bytes.toString();
          }
          resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body: parsed, bytes });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Every line every process of this platform has logged so far, by log file name. */
  logs(): Map<string, string[]> {
    const files = readdirSync(LOG_DIR).filter((f) => f.startsWith(`${this.label}-`) && f.endsWith('.log'));
    return new Map(files.map((f) => [f, readFileSync(join(LOG_DIR, f), 'utf8').split('\n').filter(Boolean)]));
  }

  /** Resident memory of an agent process, in bytes. */
  agentRss(nodeId: string): number {
    return rssOf(this.agents.get(nodeId)?.pid, `agent ${nodeId}`);
  }

  /** Process ids of the control plane and of every agent (named `runtime-agent`), for CPU accounting. */
  pids(): [string, number | undefined][] {
    return [['control-plane', this.controlPlane?.pid], ...[...this.agents.values()].map((a): [string, number | undefined] => ['runtime-agent', a.pid])];
  }

  /** Resident memory of the control plane process, in bytes. */
  controlPlaneRss(): number {
    return rssOf(this.controlPlane?.pid, 'control plane');
  }

  /** Creates a session and waits until a node holds it (status running). */
  async session(templateId = 'python-basic', extra: Record<string, unknown> = {}): Promise<any> {
    const created = await this.api('POST', '/v1/sessions', { template_id: templateId, ...extra });
    if (created.status !== 201) throw new Error(`session not created: ${created.status} ${JSON.stringify(created.body)}`);
    return this.until(`session ${created.body.id} running`, async () => {
      const s = (await this.api('GET', `/v1/sessions/${created.body.id}`)).body;
      if (s.status !== 'creating' && s.status !== 'running') throw new Error(`session ended as ${s.status}: ${s.error}`);
      return s.status === 'running' ? s : null;
    });
  }

  /** Posts an execution with ?wait=true and returns the terminal execution. */
  async execute(sessionId: string, body: Record<string, unknown>): Promise<any> {
    const r = await this.api('POST', `/v1/sessions/${sessionId}/executions?wait=true`, body);
    if (r.status !== 200) throw new Error(`execution not terminal: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Rows straight from this platform's database. */
  async query<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.sql!.query(sql, params);
    return rows as T[];
  }

  /** The paths of a session's workspace, as its manifest (the state of record) holds them, sorted. */
  async workspaceFiles(sessionId: string): Promise<string[]> {
    const rows = await this.query<{ path: Buffer }>('SELECT path FROM workspace_files WHERE session_id = ? ORDER BY path', [sessionId]);
    return rows.map((r) => r.path.toString('utf8'));
  }

  /** Polls `probe` until it returns a value other than null/undefined/false, or fails after `ms`. */
  until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
    return until(what, probe, ms);
  }

  /** What an agent process logged so far (pino JSON lines). */
  agentLog(nodeId: string): string {
    return readFileSync(join(LOG_DIR, `${this.label}-agent-${nodeId}.log`), 'utf8');
  }

  /**
   * Ids of the sandboxes carrying a label, e.g. `sandbox.node=<id>` (running or not): containers, or
   * pods on the local cluster when the agents run the kubernetes runtime.
   */
  containers(label: string): string[] {
    const ns = this.podNamespace;
    const out = ns
      ? execFileSync(LOCAL_CLUSTER.kubectl, ['--kubeconfig', LOCAL_CLUSTER.kubeconfig, 'get', 'pods', '-n', ns, '-l', label, '-o', 'name'], { encoding: 'utf8' }).replace(/^pod\//gm, '')
      : execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${label}`], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  }

  /** Removes sandboxes behind the agents' backs, as an operator or a crash would (containers or pods). */
  removeSandboxes(ids: string[]): void {
    if (!ids.length) return;
    const ns = this.podNamespace;
    if (ns) execFileSync(LOCAL_CLUSTER.kubectl, ['--kubeconfig', LOCAL_CLUSTER.kubeconfig, 'delete', 'pods', '-n', ns, '--grace-period=0', ...ids], { stdio: 'ignore' });
    else execFileSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
  }

  /** The namespace of the agents' sandbox pods (RUNTIME_MODE=kubernetes); undefined on Docker. */
  private get podNamespace(): string | undefined {
    const env = this.options.agentEnv ?? {};
    return env['RUNTIME_MODE'] === 'kubernetes' ? env['SANDBOX_NAMESPACE'] : undefined;
  }

  async stop(): Promise<void> {
    await this.stopReapers();
    await Promise.all([...this.agents.values()].map((a) => stopProcess(a, 'SIGTERM')));
    if (this.controlPlane) await stopProcess(this.controlPlane, 'SIGTERM');
    await Promise.all(this.replicas.map((r) => stopProcess(r, 'SIGTERM')));
    this.agents.clear();
    for (const nodeId of this.nodeIds) this.removeSandboxes(this.containers(`sandbox.node=${nodeId}`));
    await this.sql?.end().catch(() => undefined);
    await this.db.drop();
    await this.storage.drop();
    await deleteQueueKeys(this.prefix, this.redisUrl);
  }

  startControlPlane(): void {
    if (this.controlPlane) throw new Error('the control plane runs already');
    this.controlPlane = this.spawn('control-plane', join(DIST, 'control-plane/src/main.js'), this.controlPlaneEnv(this.port));
  }

  /**
   * Starts one more control plane on a port of its own (a second replica of the same platform);
   * resolves with its URL once it answers /ready, and a stop for it.
   */
  async startReplica(): Promise<{ url: string; stop(signal?: NodeJS.Signals): Promise<ProcessEnd> }> {
    const port = await freePort();
    const child = this.spawn(`control-plane-${port}`, join(DIST, 'control-plane/src/main.js'), this.controlPlaneEnv(port));
    this.replicas.push(child);
    const url = `http://127.0.0.1:${port}`;
    await this.until(`replica on ${port} ready`, async () => (await fetch(`${url}/ready`).catch(() => null))?.status === 200, 60_000);
    return { url, stop: (signal = 'SIGTERM') => stopProcess(child, signal) };
  }

  async stopControlPlane(signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessEnd | null> {
    const cp = this.controlPlane;
    this.controlPlane = null;
    return cp ? stopProcess(cp, signal) : null;
  }

  /** Waits until the control plane answers /ready again (after a restart). */
  async ready(): Promise<void> {
    await this.until('control plane ready', async () => (await this.api('GET', '/ready')).status === 200, 60_000);
  }

  /**
   * The environment of a process of this platform (its database, queue prefix, store) plus `env`: for
   * processes a test starts some other way, e.g. through a deployment script.
   */
  processEnv(env: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      DATABASE_URL: this.db.url,
      REDIS_URL: this.redisUrl,
      QUEUE_PREFIX: this.prefix,
      ...this.storage.env,
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
      // several agents share this host: /metrics only where a test asks for it
      METRICS_PORT: '0',
      ...env,
    };
  }

  /** The environment of an agent of this platform (as `startAgent` gives it) for node `nodeId`. */
  agentEnv(nodeId: string): Record<string, string> {
    return this.processEnv({
      NODE_ID: nodeId,
      WARM_POOL: this.options.warmPool ?? 'python-basic=1',
      HEARTBEAT_INTERVAL_MS: '500',
      DRAIN_TIMEOUT_MS: '5000',
      // a budget no suite reaches, unless it sets one: the saturation suite does
      AGENT_MEMORY_BYTES: String(2 ** 50),
      AGENT_CPUS: '100000',
      ...this.options.agentEnv,
    });
  }

  /** The environment of a control plane of this platform listening on `port`. */
  controlPlaneEnv(port: number): Record<string, string> {
    return this.processEnv({ PORT: String(port), HOST: '127.0.0.1', WAIT_POLL_MS: '500', WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, ...this.options.controlPlaneEnv });
  }

  private spawn(name: string, main: string, env: Record<string, string>): ChildProcess {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = openSync(join(LOG_DIR, `${this.label}-${name}.log`), 'w');
    const child = spawn(process.execPath, [main], { env: this.processEnv(env), stdio: ['ignore', log, log] });
    child.on('exit', (code, signal) => {
      (child as ChildProcess & { exitInfo?: string }).exitInfo = `${name} exited (code ${code}, signal ${signal})`;
    });
    return child;
  }

  private async started(): Promise<void> {
    await this.until(
      'control plane /ready and every agent online',
      async () => {
        for (const child of [this.controlPlane!, ...this.agents.values()]) {
          const exited = (child as ChildProcess & { exitInfo?: string }).exitInfo;
          if (exited) throw new Error(`${exited}; see ${LOG_DIR}/${this.label}-*.log`);
        }
        if ((await this.api('GET', '/ready')).status !== 200) return false;
        const online = await this.query("SELECT id FROM runtime_nodes WHERE status = 'online'");
        return [...this.agents.keys()].every((id) => online.some((n) => n.id === id));
      },
      60_000,
    );
  }
}

export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Signals the process and waits for its exit; SIGKILL after 30 s (then `signal` says so). */
function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<ProcessEnd> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', (code, sig) => {
      clearTimeout(kill);
      resolve({ code, signal: sig });
    });
    child.kill(signal);
  });
}

function privateStore(services: PrivateServices): TestStore {
  const env = services.s3.env;
  const store = new S3WorkspaceStore({
    bucket: env['S3_BUCKET']!,
    region: 'us-east-1',
    endpoint: env['S3_ENDPOINT']!,
    forcePathStyle: true,
    credentials: { accessKeyId: env['S3_ACCESS_KEY_ID']!, secretAccessKey: env['S3_SECRET_ACCESS_KEY']! },
  });
  // the private server goes away with the suite's directory
  return { store, env, drop: async () => store.close() };
}

function rssOf(pid: number | undefined, what: string): number {
  if (!pid) throw new Error(`no ${what} running`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(kb![1]) * 1024;
}
