import { hostname } from 'node:os';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = (protocols: readonly string[], example: string) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL like ${example}`);

/** "python-basic=2,nodejs-basic=1" → { 'python-basic': 2, 'nodejs-basic': 1 } */
const warmPool = z
  .string()
  .transform((value, ctx) => {
    const pool: Record<string, number> = {};
    for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
      const m = /^([a-z0-9][a-z0-9-]{0,63})=(\d{1,3})$/.exec(part);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `'${part}' is not <template-id>=<count>` });
        return z.NEVER;
      }
      pool[m[1]!] = Number(m[2]);
    }
    return pool;
  });

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Where session workspaces live (DESIGN.md §6): S3 or any S3-compatible server, or a local directory. */
const storage = {
  STORAGE_DRIVER: z.enum(['s3', 'fs']).default('s3'),
  S3_ENDPOINT: url(['http:', 'https:'], 'http://127.0.0.1:9000').optional(),
  /** Endpoint clients use to fetch presigned URLs, when it differs from S3_ENDPOINT. */
  S3_PUBLIC_ENDPOINT: url(['http:', 'https:'], 'https://s3.example.com').optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 lower-case letters, digits, "." and "-"').default('sandbox'),
  S3_FORCE_PATH_STYLE: bool.default(true),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  STORAGE_FS_ROOT: z.string().min(1).optional(),
};

const common = {
  ...storage,
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: url(['mysql:', 'mariadb:'], 'mysql://user:password@127.0.0.1:3306/sandbox'),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  /** Namespace of every BullMQ key, so several platforms (or test runs) can share one Redis. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default('sandbox'),
  RUNTIME_MODE: z.enum(['docker', 'kubernetes']).default('docker'),
  /** A node or execution whose heartbeat is older than this is lost (judged on the database clock, in ms). */
  STALE_AFTER_SECONDS: int(3, 3600).default(10),
  /**
   * Longest any one SQL statement may take before its connection is dropped and the call fails: a
   * database that stops answering (hung, packets dropped) is noticed instead of waited for forever.
   */
  DB_QUERY_TIMEOUT_MS: int(500, 600_000).default(10_000),
  /**
   * Longest a new session waits for a node with room: then it ends `failed` (no_capacity), and the API
   * refuses new sessions (503) while the waiting ones could not be placed within it.
   */
  PLACEMENT_TIMEOUT_SECONDS: int(1, 3600).default(60),
  /** OTLP/HTTP collector (traces go to <endpoint>/v1/traces); unset: spans are made but not exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
};

type StorageFields = { STORAGE_DRIVER: 's3' | 'fs'; STORAGE_FS_ROOT?: string | undefined; S3_ACCESS_KEY_ID?: string | undefined; S3_SECRET_ACCESS_KEY?: string | undefined };
/** `/metrics` of the processes without an HTTP API; port 0 turns it off. */
const metricsServer = (port: number) => ({
  METRICS_PORT: int(0, 65535).default(port),
  METRICS_HOST: z.string().default('127.0.0.1'),
});

function checkStorage(c: StorageFields, ctx: z.RefinementCtx): void {
  if (c.STORAGE_DRIVER === 'fs' && !c.STORAGE_FS_ROOT) ctx.addIssue({ code: 'custom', path: ['STORAGE_FS_ROOT'], message: 'is required when STORAGE_DRIVER=fs' });
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY)) {
    ctx.addIssue({ code: 'custom', path: [c.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'], message: 'set both S3 keys, or neither (the default credential chain)' });
  }
}

export const controlPlaneConfigSchema = z
  .object({
    ...common,
    HOST: z.string().default('0.0.0.0'),
    PORT: int(1, 65535).default(8000),
    /** Whole JSON body; the code, stdin and env var limits inside it are checked field by field. */
    BODY_LIMIT_BYTES: int(64 << 10, 64 << 20).default(4 << 20),
    EXECUTION_TIMEOUT_DEFAULT_SECONDS: int(1, 86_400).default(30),
    EXECUTION_TIMEOUT_MAX_SECONDS: int(1, 86_400).default(300),
    /** Longest a `?wait=true` request is held before it answers 202 with the execution as it is. */
    WAIT_MAX_SECONDS: int(1, 3600).default(300),
    /** DB re-read while waiting, in case the completion event was missed. */
    WAIT_POLL_MS: int(50, 60_000).default(1000),
    /** Server socket timeouts: a slow client cannot hold a connection forever. */
    HTTP_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(20_000),
    HTTP_REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(330_000),
    /** Requests one API key may make per window (0: no limit); over it the API answers 429. */
    RATE_LIMIT_REQUESTS: int(0, 10_000_000).default(6000),
    RATE_LIMIT_WINDOW_SECONDS: int(1, 3600).default(60),
    /** Live sessions one tenant may hold; the next one is refused with 429. */
    TENANT_MAX_SESSIONS: int(1, 100_000).default(50),
    /** Executions one session may have waiting to run; the next one is refused with 429. */
    SESSION_MAX_PENDING: int(1, 10_000).default(100),
    /** How long a looked-up key is trusted before it is read again (a revocation elsewhere takes this long). */
    API_KEY_CACHE_MS: int(0, 300_000).default(5000),
    /**
     * Signs result webhooks: each tenant's secret is derived from it (GET /v1/webhooks/secret). Unset:
     * executions cannot have a callback_url.
     */
    WEBHOOK_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    /** Networks a webhook may go to although they are private, loopback or link-local (CIDRs, comma-separated). */
    WEBHOOK_ALLOWED_NETWORKS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'a CIDR like 10.1.0.0/16'))),
    /** The longest a receiver may take to answer one delivery. */
    WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
    /** Web origins whose pages may call the API (the TypeScript SDK in a browser), comma-separated; none by default. */
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin like https://app.example.com (scheme, host and port; no path)'))),
  })
  .superRefine((c, ctx) => {
    checkStorage(c, ctx);
    if (c.EXECUTION_TIMEOUT_DEFAULT_SECONDS > c.EXECUTION_TIMEOUT_MAX_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['EXECUTION_TIMEOUT_DEFAULT_SECONDS'], message: 'must not exceed EXECUTION_TIMEOUT_MAX_SECONDS' });
    }
  });
export type ControlPlaneConfig = Readonly<z.output<typeof controlPlaneConfigSchema>>;

export const agentConfigSchema = z
  .object({
    ...common,
    ...metricsServer(9464),
    NODE_ID: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." and "-" only')
      .default(hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64)),
    /** Executions this node runs at once (different sessions; one session runs one at a time). */
    AGENT_CAPACITY: int(1, 1024).default(4),
    /** Sessions this node holds a container for. */
    AGENT_MAX_SESSIONS: int(1, 10_000).default(32),
    /**
     * Memory the node's sandboxes may take in all, bytes (each counts its memory limit, which holds its
     * tmpfs and shm, plus a fixed overhead); 0: the host's memory less 1 GiB for the agent and the system.
     */
    AGENT_MEMORY_BYTES: int(0, 2 ** 50).default(0),
    /**
     * CPUs the node's sandboxes may be given in all (their limits add up); 0: 8 per host core. CPU is
     * compressible and only AGENT_CAPACITY sessions run code at once, so limits may overcommit it.
     */
    AGENT_CPUS: z.coerce.number().min(0).max(100_000).default(0),
    WARM_POOL: warmPool.default({ 'python-basic': 2, 'nodejs-basic': 1, 'python-datascience': 1 }),
    DOCKER_SOCKET: z.string().default('/var/run/docker.sock'),
    /** RUNTIME_MODE=kubernetes: the namespace of the sandbox pods (k8s/: sandbox-sandboxes). */
    SANDBOX_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a Kubernetes namespace name').default('sandbox-sandboxes'),
    /** RUNTIME_MODE=kubernetes: the Kubernetes node the sandboxes are pinned to; unset: NODE_ID. */
    K8S_NODE_NAME: z.string().min(1).optional(),
    /** RUNTIME_MODE=kubernetes: a RuntimeClass for every sandbox pod (e.g. gVisor's), when the cluster has one. */
    SANDBOX_RUNTIME_CLASS: z.string().min(1).optional(),
    HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(2000),
    /**
     * The agent freezes its runs this long before the reaper may first declare it lost (STALE after
     * the send of its last beat that got through): time to stop them, and clock rate differences.
     */
    FENCE_MARGIN_MS: int(100, 600_000).default(2000),
    /** How often the agent removes containers of its host that no session or pool owns (I6). */
    ORPHAN_SWEEP_INTERVAL_MS: int(100, 3_600_000).default(10_000),
    /** Graceful shutdown: running executions get this long to finish (below k8s' 30 s grace period). */
    DRAIN_TIMEOUT_MS: int(0, 3_600_000).default(25_000),
    /** Kept per stream; the program is stopped when it writes more. */
    OUTPUT_LIMIT_BYTES: int(1024, 16 << 20).default(1 << 20),
    /** Time given to the executor beyond the wall-time limit before the container is declared lost. */
    EXECUTOR_GRACE_MS: int(100, 600_000).default(5000),
    SANDBOX_PIDS_LIMIT: int(8, 65_536).default(128),
    SANDBOX_NOFILE: int(16, 65_536).default(256),
    SANDBOX_FSIZE_BYTES: int(1 << 20, 64 * 2 ** 30).default(1 << 30),
    SANDBOX_TMP_BYTES: int(1 << 20, 16 * 2 ** 30).default(64 << 20),
    /** Files and directories a workspace may hold (tmpfs nr_inodes). */
    SANDBOX_WORKSPACE_INODES: int(1000, 10_000_000).default(200_000),
    /**
     * Bound of one workspace pull or push (the execution stays `running` meanwhile): past it the
     * transfer is stopped, nothing of it is committed, and the files are listed as not stored.
     */
    WORKSPACE_SYNC_TIMEOUT_SECONDS: int(1, 3600).default(120),
    /**
     * A sandbox's executor that hears nothing from an agent for this long exits, and its container is
     * removed (Docker AutoRemove): the bound on containers left by an agent that never comes back. The
     * agent pings every container it holds four times within it, so a live one never ends this way.
     */
    SANDBOX_ORPHAN_AFTER_SECONDS: int(5, 86_400).default(600),
  })
  .superRefine((c, ctx) => {
    checkStorage(c, ctx);
    if (c.HEARTBEAT_INTERVAL_MS * 2 + c.FENCE_MARGIN_MS > c.STALE_AFTER_SECONDS * 1000) {
      ctx.addIssue({ code: 'custom', path: ['HEARTBEAT_INTERVAL_MS'], message: 'two beats and FENCE_MARGIN_MS must fit in STALE_AFTER_SECONDS' });
    }
    if (c.AGENT_MAX_SESSIONS < c.AGENT_CAPACITY) {
      ctx.addIssue({ code: 'custom', path: ['AGENT_MAX_SESSIONS'], message: 'must be at least AGENT_CAPACITY' });
    }
  });
export type AgentConfig = Readonly<z.output<typeof agentConfigSchema>>;

export const reaperConfigSchema = z
  .object({
    ...common,
    ...metricsServer(9465),
    /** Stored workspaces of ended sessions are deleted this many days after the end; 0 keeps them. */
    WORKSPACE_RETENTION_DAYS: int(0, 3650).default(7),
    RETENTION_INTERVAL_MS: int(100, 86_400_000).default(3_600_000),
    /** Workspaces, sessions, keys and dead nodes handled per tick and kind, at most (the next tick goes on). */
    RETENTION_BATCH: int(1, 10_000).default(100),
    /** Ended sessions' rows, with their executions and stored workspace, are deleted this many days after the end; 0 keeps them. */
    SESSION_RETENTION_DAYS: int(0, 3650).default(30),
    /** An Idempotency-Key is replayed this long after its request, then forgotten (a reuse makes a new resource). */
    IDEMPOTENCY_KEY_TTL_HOURS: int(1, 8760).default(24),
    /** A node lost this long ago (no heartbeat since, no live session) loses its row and its queue in Redis. */
    DEAD_NODE_RETENTION_HOURS: int(1, 8760).default(24),
    /**
     * Unfinished multipart uploads (a writer died mid-transfer) older than this are aborted at each
     * retention tick; above the agents' WORKSPACE_SYNC_TIMEOUT_SECONDS and the slowest API upload.
     */
    STALE_UPLOAD_AFTER_SECONDS: int(60, 30 * 86_400).default(21_600),
    /** Tick of the recovery and expiry tasks (lost nodes and executions, stuck work, idle sessions). */
    REAPER_INTERVAL_MS: int(100, 600_000).default(2000),
    /** Retries of an execution whose agent was lost; past them it ends `crashed`. */
    MAX_RETRIES: int(0, 10).default(2),
    /** No session lives longer, busy or not. */
    SESSION_MAX_LIFETIME_SECONDS: int(5, 30 * 86_400).default(86_400),
    /** Rows one tick handles per kind of work, at most (the next tick goes on). */
    REAPER_BATCH: int(1, 10_000).default(500),
  })
  .superRefine(checkStorage);
export type ReaperConfig = Readonly<z.output<typeof reaperConfigSchema>>;

/** The storage settings every app shares. */
export type StorageConfig = Pick<ControlPlaneConfig, keyof typeof storage>;

/** tools/backup.sh and tools/restore.sh: the stores to copy and where backups go (docs/runbooks/backup-restore.md). */
export const backupConfigSchema = z
  .object({
    ...storage,
    DATABASE_URL: common.DATABASE_URL,
    REDIS_URL: common.REDIS_URL,
    /** Each backup is a timestamped directory under it. */
    BACKUP_DIR: z.string().min(1).default('/var/backups/sandbox'),
    /** Retention: at most this many backups are kept... */
    BACKUP_KEEP: int(1, 10_000).default(14),
    /** ...and none older than this; the newest one always stays. */
    BACKUP_MAX_AGE_DAYS: int(1, 36_500).default(30),
  })
  .superRefine(checkStorage);
export type BackupConfig = Readonly<z.output<typeof backupConfigSchema>>;
