import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrivateServices, REPO_ROOT, TestPlatform } from '@sandbox/testing';

/**
 * The restore drill (docs/runbooks/backup-restore.md) on a MariaDB, Redis and S3 server of its own:
 * a workload, tools/backup.sh while executions run, every data directory destroyed, tools/restore.sh
 * into the empty servers, the platform started again. Everything that ended before the backup is
 * there; what was in flight ends exactly once; what came after the snapshot is lost (the RPO).
 */
const STALE = 3;
const agentEnv = { HEARTBEAT_INTERVAL_MS: '500', STALE_AFTER_SECONDS: String(STALE), ORPHAN_SWEEP_INTERVAL_MS: '1000', AGENT_CAPACITY: '4' };
const reaperEnv = { STALE_AFTER_SECONDS: String(STALE), REAPER_INTERVAL_MS: '500', MAX_RETRIES: '2' };
const TERMINAL = ['completed', 'failed', 'timeout', 'crashed'];
/** bytes(range(256)) of Python. */
const BYTE_VALUES = Buffer.from(Array.from({ length: 256 }, (_, j) => j));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const filePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

interface ToolRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs tools/<script> as an operator would, with the drill's settings only; `ok` rejects unless it succeeded. */
async function ok(run: Promise<ToolRun>): Promise<ToolRun> {
  const r = await run;
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return r;
}

function tool(script: string, args: string[], env: Record<string, string>): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile('bash', [join(REPO_ROOT, 'tools', script), ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('backup and restore drill', () => {
  let services: PrivateServices;
  let p: TestPlatform;
  let backups: string;

  beforeAll(async () => {
    services = await PrivateServices.start('backup');
    backups = mkdtempSync(join(tmpdir(), 'sandbox-backups-'));
  });

  afterAll(async () => {
    await p?.stop();
    await services?.stop();
    rmSync(backups, { recursive: true, force: true });
  });

  it('restores a new, empty stack: ended executions with outputs and artifacts, workspace files byte for byte, keys; in-flight work ends once', async () => {
    p = await TestPlatform.start('drill', { services, agents: 1, warmPool: 'python-basic=2', agentEnv, controlPlaneEnv: { STALE_AFTER_SECONDS: String(STALE) } });
    p.startReaper(reaperEnv);
    const env = { DATABASE_URL: p.db.url, REDIS_URL: services.redis.url, ...services.s3.env, BACKUP_DIR: backups, BACKUP_KEEP: '3', BACKUP_MAX_AGE_DAYS: '30' };
    const get = async (id: string) => (await p.api('GET', `/v1/executions/${id}`)).body;
    const post = async (sessionId: string, code: string) => {
      const r = await p.api('POST', `/v1/sessions/${sessionId}/executions`, { code });
      if (r.status !== 202) throw new Error(`not accepted: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.id as string;
    };

    // the workload: keys (one through the API, audited), sessions, executions with outputs and
    // artifacts, uploaded workspace files
    const keys = [await p.createKey('tenant', 'acme'), await p.createKey('admin', 'ops')];
    const viaApi = await p.api('POST', '/v1/api-keys', { scope: 'tenant', tenant: 'globex', name: 'drill' });
    expect(viaApi.status).toBe(201);
    const secrets = [p.adminKey, ...keys.map((k) => k.secret), viaApi.body.key as string];
    const sessions = [await p.session(), await p.session()];
    const ended: { id: string; stdout: string; artifact: string; bytes: Buffer }[] = [];
    for (const [n, s] of sessions.entries()) {
      for (let i = 0; i < 2; i++) {
        const artifact = `out/result-${i}.bin`;
        const e = await p.execute(s.id, { code: `import os\nos.makedirs("out", exist_ok=True)\nopen("${artifact}", "wb").write(bytes(range(256)) * ${(n + 1) * (i + 1) * 100})\nprint("result ${n}.${i}")` });
        expect(e).toMatchObject({ status: 'completed', stdout: `result ${n}.${i}\n` });
        ended.push({ id: e.id, stdout: e.stdout, artifact, bytes: Buffer.alloc(256 * (n + 1) * (i + 1) * 100, BYTE_VALUES) });
      }
    }
    const uploads = new Map<string, Map<string, Buffer>>();
    for (const s of sessions) {
      const files = new Map([
        ['data/empty.bin', Buffer.alloc(0)],
        ['data/random.bin', randomBytes(300_000)],
        ['données/é.txt', Buffer.from('non-ASCII path\n')],
      ]);
      for (const [path, bytes] of files) expect((await p.raw('PUT', `/v1/sessions/${s.id}/files/${filePath(path)}`, bytes)).status).toBeLessThan(300);
      uploads.set(s.id, files);
    }

    // in flight at the backup: one running in each session and one queued behind
    const inFlight = [
      await post(sessions[0]!.id, 'import time\ntime.sleep(8)\nprint("in flight")'),
      await post(sessions[1]!.id, 'import time\ntime.sleep(8)\nprint("in flight")'),
      await post(sessions[0]!.id, 'print("queued")'),
    ];
    await p.until('two running', async () => (await Promise.all(inFlight.slice(0, 2).map(get))).every((e) => e.status === 'running'));

    // a backup past retention (older than BACKUP_MAX_AGE_DAYS): the backup removes it
    mkdirSync(join(backups, '20200101T000000Z'));
    writeFileSync(join(backups, '20200101T000000Z', 'manifest.json'), '{}');

    const backup = await ok(tool('backup.sh', [], env));
    const made = JSON.parse(backup.stdout);
    expect(made.removed).toEqual(['20200101T000000Z']);
    expect(made.objects).toBeGreaterThanOrEqual(ended.length + 2 * sessions.length);
    const snapshotAt = new Date(made.database_snapshot_at).getTime();

    // written after the snapshot: lost by construction
    const lateKey = await p.createKey('tenant', 'late');
    await p.until('in-flight work done before the disaster', async () => (await Promise.all(inFlight.map(get))).every((e) => TERMINAL.includes(e.status)), 60_000);

    // the disaster: every process and every data directory gone; new, empty servers
    const disasterAt = Date.now();
    await p.stopControlPlane('SIGKILL');
    await p.stopReapers('SIGKILL');
    for (const node of [...p.agents.keys()]) await p.stopAgent(node, 'SIGKILL');
    await services.startEmpty();

    // a damaged backup is refused before anything is written
    const damaged = join(backups, 'damaged');
    cpSync(made.backup, damaged, { recursive: true });
    appendFileSync(join(damaged, 'database.sql'), '-- one more line\n');
    const refused = await tool('restore.sh', [damaged], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/backup damaged: .*database\.sql/);
    rmSync(damaged, { recursive: true });

    const restoreStarted = Date.now();
    const restore = await ok(tool('restore.sh', [], env));
    const restoreMs = Date.now() - restoreStarted;
    const restored = JSON.parse(restore.stdout);
    expect(restored).toMatchObject({ restored: made.backup, objects: made.objects, missing_workspace_objects: 0 });
    expect(restored.redis_keys).toBeGreaterThan(0);
    // the premise: the snapshot caught them in flight
    const atSnapshot = await p.until('the restored database', () => p.query('SELECT id, status FROM executions WHERE id IN (?) ORDER BY id', [inFlight]));
    expect(atSnapshot.map((e) => e.status)).toEqual(['running', 'running', 'pending']);
    const node = p.startAgent();
    p.startControlPlane();
    p.startReaper(reaperEnv);
    await p.ready();
    await p.until('the new agent online', async () => (await p.query("SELECT id FROM runtime_nodes WHERE id = ? AND status = 'online'", [node])).length === 1, 60_000);
    const rtoMs = Date.now() - restoreStarted;

    // a second restore into the now full stack is refused
    const again = await tool('restore.sh', [made.backup], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/empty stack only/);

    // every execution that ended before the backup: its outputs and its artifacts, byte for byte
    for (const e of ended) {
      expect(await get(e.id)).toMatchObject({ status: 'completed', stdout: e.stdout, artifacts: [expect.objectContaining({ path: e.artifact, size: e.bytes.length, sha256: sha(e.bytes) })] });
      const download = await p.raw('GET', `/v1/executions/${e.id}/artifacts/${e.artifact}`);
      expect([download.status, sha(download.bytes)]).toEqual([200, sha(e.bytes)]);
    }
    // every workspace file, byte for byte
    for (const [sessionId, files] of uploads) {
      for (const [path, bytes] of files) {
        const download = await p.raw('GET', `/v1/sessions/${sessionId}/files/${filePath(path)}`);
        expect([path, download.status, sha(download.bytes)]).toEqual([path, 200, sha(bytes)]);
      }
    }
    // every key still authenticates; the one made after the snapshot is lost
    for (const secret of secrets) expect((await p.api('GET', '/v1/sessions', undefined, p.authorization(secret))).status).toBe(200);
    expect((await p.api('GET', '/v1/sessions', undefined, p.authorization(lateKey.secret))).status).toBe(401);
    // the audit trail came back with its append-only triggers
    expect((await p.query("SELECT action FROM audit_events WHERE action = 'api_key.create'")).length).toBeGreaterThanOrEqual(1);
    await expect(p.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);

    // in flight at the backup: recovered by the reaper, each with exactly one final outcome
    const settled = await Promise.all(inFlight.map((id) => p.until(`${id} terminal`, async () => TERMINAL.includes((await get(id)).status) && get(id), 90_000)));
    expect(settled.map((e) => [e.status, e.stdout])).toEqual([
      ['completed', 'in flight\n'],
      ['completed', 'in flight\n'],
      ['completed', 'queued\n'],
    ]);
    for (const e of settled) {
      const finals = e.attempts.filter((a: { outcome: string }) => a.outcome !== 'agent_lost');
      expect(finals).toEqual([expect.objectContaining({ attempt: e.attempt, outcome: 'completed' })]);
      expect(e.retry_count).toBe(e.attempts.length - 1);
    }
    // and the restored platform serves: a restored session runs on, with its workspace
    const next = await p.execute(sessions[1]!.id, { code: 'print(len(open("data/random.bin", "rb").read()))' });
    expect(next).toMatchObject({ status: 'completed', stdout: '300000\n' });

    const rpoMs = disasterAt - snapshotAt;
    console.log(
      [
        `backup: ${made.durations_ms.total} ms (database ${made.durations_ms.database} ms, Redis ${made.durations_ms.redis} ms, objects ${made.durations_ms.objects} ms; ${made.objects} objects, ${made.bytes} bytes)`,
        `RPO: ${(rpoMs / 1000).toFixed(1)} s of writes lost (everything after the database snapshot: here 1 API key and the in-flight results, run again)`,
        `RTO: ${(rtoMs / 1000).toFixed(1)} s (tools/restore.sh ${restoreMs} ms, of which ${JSON.stringify(restored.durations_ms)}; then the platform started and ready in ${rtoMs - restoreMs} ms)`,
      ].join('\n'),
    );
    expect(existsSync(join(made.backup, 'manifest.json'))).toBe(true);
  });
});
