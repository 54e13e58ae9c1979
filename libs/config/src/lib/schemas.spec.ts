import { ConfigError, loadConfig } from './load-config';
import { agentConfigSchema, controlPlaneConfigSchema } from './schemas';

const required = { DATABASE_URL: 'mysql://sandbox:secret@127.0.0.1:3306/sandbox', REDIS_URL: 'redis://127.0.0.1:6379' };

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const controlPlane = (env: Record<string, string | undefined>) => loadConfig(controlPlaneConfigSchema, { ...required, ...env });
const agent = (env: Record<string, string | undefined>) => loadConfig(agentConfigSchema, { ...required, ...env });

describe('controlPlaneConfigSchema', () => {
  it('applies every default when only the URLs are set', () => {
    expect(controlPlane({})).toEqual({
      ...required,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      QUEUE_PREFIX: 'sandbox',
      RUNTIME_MODE: 'docker',
      STALE_AFTER_SECONDS: 10,
      DB_QUERY_TIMEOUT_MS: 10_000,
      PLACEMENT_TIMEOUT_SECONDS: 60,
      STORAGE_DRIVER: 's3',
      S3_REGION: 'us-east-1',
      S3_BUCKET: 'sandbox',
      S3_FORCE_PATH_STYLE: true,
      HOST: '0.0.0.0',
      PORT: 8000,
      BODY_LIMIT_BYTES: 4 << 20,
      EXECUTION_TIMEOUT_DEFAULT_SECONDS: 30,
      EXECUTION_TIMEOUT_MAX_SECONDS: 300,
      WAIT_MAX_SECONDS: 300,
      WAIT_POLL_MS: 1000,
      WEBHOOK_ALLOWED_NETWORKS: [],
      WEBHOOK_TIMEOUT_MS: 10_000,
      CORS_ORIGINS: [],
      HTTP_HEADERS_TIMEOUT_MS: 20_000,
      HTTP_REQUEST_TIMEOUT_MS: 330_000,
      RATE_LIMIT_REQUESTS: 6000,
      RATE_LIMIT_WINDOW_SECONDS: 60,
      TENANT_MAX_SESSIONS: 50,
      SESSION_MAX_PENDING: 100,
      API_KEY_CACHE_MS: 5000,
    });
  });

  it('coerces numeric variables from strings', () => {
    const config = controlPlane({ PORT: '8080', WAIT_POLL_MS: '250', EXECUTION_TIMEOUT_MAX_SECONDS: '600' });
    expect(config.PORT).toBe(8080);
    expect(config.WAIT_POLL_MS).toBe(250);
    expect(config.EXECUTION_TIMEOUT_MAX_SECONDS).toBe(600);
  });

  it('takes CORS origins as a list and refuses one with a path', () => {
    expect(controlPlane({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(problemsOf(() => controlPlane({ CORS_ORIGINS: 'https://app.example.com/page' }))[0]).toContain('CORS_ORIGINS');
  });

  it('accepts mariadb: and rediss: URLs', () => {
    const config = controlPlane({ DATABASE_URL: 'mariadb://db/sandbox', REDIS_URL: 'rediss://cache:6380' });
    expect(config.DATABASE_URL).toBe('mariadb://db/sandbox');
    expect(config.REDIS_URL).toBe('rediss://cache:6380');
  });

  it('reports every bad variable at once, each by name', () => {
    const problems = problemsOf(() => controlPlane({ DATABASE_URL: 'postgres://db/x', REDIS_URL: 'not a url', PORT: 'abc' }));
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('DATABASE_URL: '))).toContain('mysql://');
    expect(problems.find((p) => p.startsWith('REDIS_URL: '))).toContain('redis://');
    expect(problems.some((p) => p.startsWith('PORT: '))).toBe(true);
  });

  it('requires DATABASE_URL and REDIS_URL', () => {
    const problems = problemsOf(() => loadConfig(controlPlaneConfigSchema, {}));
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'REDIS_URL']);
  });

  it.each([
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', ''],
    ['BODY_LIMIT_BYTES', '1024'],
    ['WAIT_POLL_MS', '10'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['RUNTIME_MODE', 'podman'],
    ['QUEUE_PREFIX', 'has:colon'],
    ['QUEUE_PREFIX', 'x'.repeat(33)],
  ])('rejects %s=%j', (key, value) => {
    expect(problemsOf(() => controlPlane({ [key]: value }))).toEqual([expect.stringMatching(new RegExp(`^${key}: `))]);
  });

  it('rejects a default execution timeout above the maximum', () => {
    expect(problemsOf(() => controlPlane({ EXECUTION_TIMEOUT_DEFAULT_SECONDS: '301', EXECUTION_TIMEOUT_MAX_SECONDS: '300' }))).toEqual([
      'EXECUTION_TIMEOUT_DEFAULT_SECONDS: must not exceed EXECUTION_TIMEOUT_MAX_SECONDS',
    ]);
    expect(problemsOf(() => controlPlane({ EXECUTION_TIMEOUT_MAX_SECONDS: '10' }))).toHaveLength(1);
  });

  it('accepts a default execution timeout equal to the maximum', () => {
    const config = controlPlane({ EXECUTION_TIMEOUT_DEFAULT_SECONDS: '60', EXECUTION_TIMEOUT_MAX_SECONDS: '60' });
    expect(config.EXECUTION_TIMEOUT_DEFAULT_SECONDS).toBe(60);
  });

  it('freezes the result', () => {
    const config = controlPlane({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });
});

describe('agentConfigSchema', () => {
  it('applies every default when only the URLs are set', () => {
    const config = agent({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      QUEUE_PREFIX: 'sandbox',
      RUNTIME_MODE: 'docker',
      AGENT_CAPACITY: 4,
      AGENT_MAX_SESSIONS: 32,
      AGENT_MEMORY_BYTES: 0,
      AGENT_CPUS: 0,
      WARM_POOL: { 'python-basic': 2, 'nodejs-basic': 1, 'python-datascience': 1 },
      DOCKER_SOCKET: '/var/run/docker.sock',
      HEARTBEAT_INTERVAL_MS: 2000,
      FENCE_MARGIN_MS: 2000,
      DRAIN_TIMEOUT_MS: 25_000,
      OUTPUT_LIMIT_BYTES: 1 << 20,
      EXECUTOR_GRACE_MS: 5000,
      SANDBOX_PIDS_LIMIT: 128,
      SANDBOX_NOFILE: 256,
      SANDBOX_FSIZE_BYTES: 1 << 30,
      SANDBOX_TMP_BYTES: 64 << 20,
    });
    expect(config.NODE_ID).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
  });

  it('coerces numeric variables from strings', () => {
    const config = agent({ AGENT_CAPACITY: '8', AGENT_MAX_SESSIONS: '64', DRAIN_TIMEOUT_MS: '0' });
    expect(config.AGENT_CAPACITY).toBe(8);
    expect(config.AGENT_MAX_SESSIONS).toBe(64);
    expect(config.DRAIN_TIMEOUT_MS).toBe(0);
  });

  it('takes NODE_ID from the environment', () => {
    expect(agent({ NODE_ID: 'node-1.eu_west' }).NODE_ID).toBe('node-1.eu_west');
  });

  it.each(['-node', 'node 1', 'node:1', 'x'.repeat(65)])('rejects NODE_ID=%j', (value) => {
    expect(problemsOf(() => agent({ NODE_ID: value }))).toEqual([expect.stringMatching(/^NODE_ID: /)]);
  });

  describe('WARM_POOL', () => {
    it('parses template=count pairs', () => {
      expect(agent({ WARM_POOL: 'python-basic=2,nodejs-basic=1' }).WARM_POOL).toEqual({ 'python-basic': 2, 'nodejs-basic': 1 });
    });

    it('tolerates spaces and empty parts', () => {
      expect(agent({ WARM_POOL: ' python-basic=2 , ,nodejs-basic=0,' }).WARM_POOL).toEqual({ 'python-basic': 2, 'nodejs-basic': 0 });
    });

    it('is empty when set to an empty string', () => {
      expect(agent({ WARM_POOL: '' }).WARM_POOL).toEqual({});
    });

    it.each(['python-basic=x', 'python-basic', 'python-basic=1000', 'Python=1', '=1', 'python-basic=-1', 'a=1;b=2'])('rejects %j, quoting the bad part', (value) => {
      const problems = problemsOf(() => agent({ WARM_POOL: value }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^WARM_POOL: '.*' is not <template-id>=<count>$/);
    });

    it('quotes the part that is wrong', () => {
      expect(problemsOf(() => agent({ WARM_POOL: 'python-basic=2,nodejs-basic=x' }))).toEqual(["WARM_POOL: 'nodejs-basic=x' is not <template-id>=<count>"]);
    });

    it('gives each config its own default pool', () => {
      const first = agent({}).WARM_POOL as Record<string, number>;
      first['python-basic'] = 99;
      expect(agent({}).WARM_POOL['python-basic']).toBe(2);
    });
  });

  it('wants two heartbeats and the fence margin within STALE_AFTER_SECONDS', () => {
    expect(problemsOf(() => agent({ HEARTBEAT_INTERVAL_MS: '4500', STALE_AFTER_SECONDS: '10' }))).toEqual([
      'HEARTBEAT_INTERVAL_MS: two beats and FENCE_MARGIN_MS must fit in STALE_AFTER_SECONDS',
    ]);
    expect(agent({ HEARTBEAT_INTERVAL_MS: '4000', STALE_AFTER_SECONDS: '10' }).HEARTBEAT_INTERVAL_MS).toBe(4000);
    expect(agent({ HEARTBEAT_INTERVAL_MS: '4500', STALE_AFTER_SECONDS: '10', FENCE_MARGIN_MS: '1000' }).FENCE_MARGIN_MS).toBe(1000);
  });

  it('rejects AGENT_MAX_SESSIONS below AGENT_CAPACITY', () => {
    expect(problemsOf(() => agent({ AGENT_CAPACITY: '8', AGENT_MAX_SESSIONS: '4' }))).toEqual(['AGENT_MAX_SESSIONS: must be at least AGENT_CAPACITY']);
    expect(problemsOf(() => agent({ AGENT_CAPACITY: '64' }))).toEqual(['AGENT_MAX_SESSIONS: must be at least AGENT_CAPACITY']);
  });

  it('accepts AGENT_MAX_SESSIONS equal to AGENT_CAPACITY', () => {
    expect(agent({ AGENT_CAPACITY: '8', AGENT_MAX_SESSIONS: '8' }).AGENT_MAX_SESSIONS).toBe(8);
  });

  it('reports every bad variable at once, each by name', () => {
    const problems = problemsOf(() =>
      agent({ REDIS_URL: 'http://cache', AGENT_CAPACITY: 'many', HEARTBEAT_INTERVAL_MS: '5', WARM_POOL: 'python-basic=x', SANDBOX_NOFILE: '1e9' }),
    );
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['AGENT_CAPACITY', 'HEARTBEAT_INTERVAL_MS', 'REDIS_URL', 'SANDBOX_NOFILE', 'WARM_POOL']);
  });

  it('freezes the result', () => {
    const config = agent({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { AGENT_CAPACITY: number }).AGENT_CAPACITY = 1;
    }).toThrow(TypeError);
  });
});

describe('storage settings (every app)', () => {
  it('reads an S3-compatible endpoint with keys', () => {
    const config = controlPlane({ S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_FORCE_PATH_STYLE: 'false' });
    expect(config).toMatchObject({ STORAGE_DRIVER: 's3', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: false });
  });

  it('needs STORAGE_FS_ROOT for the filesystem driver', () => {
    expect(problemsOf(() => agent({ STORAGE_DRIVER: 'fs' }))).toEqual(['STORAGE_FS_ROOT: is required when STORAGE_DRIVER=fs']);
    expect(agent({ STORAGE_DRIVER: 'fs', STORAGE_FS_ROOT: '/var/lib/sandbox' }).STORAGE_FS_ROOT).toBe('/var/lib/sandbox');
  });

  it('wants both S3 keys or neither', () => {
    expect(problemsOf(() => controlPlane({ S3_ACCESS_KEY_ID: 'k' }))).toEqual([expect.stringMatching(/^S3_SECRET_ACCESS_KEY: set both S3 keys/)]);
    expect(problemsOf(() => controlPlane({ S3_SECRET_ACCESS_KEY: 's' }))).toEqual([expect.stringMatching(/^S3_ACCESS_KEY_ID: set both S3 keys/)]);
  });

  it.each([
    ['S3_BUCKET', 'Has_Upper'],
    ['S3_BUCKET', 'ab'],
    ['S3_ENDPOINT', 'minio:9000'],
    ['STORAGE_DRIVER', 'gcs'],
    ['S3_FORCE_PATH_STYLE', 'yes'],
  ])('rejects %s=%j', (key, value) => {
    expect(problemsOf(() => controlPlane({ [key]: value }))).toEqual([expect.stringMatching(new RegExp(`^${key}: `))]);
  });
});
