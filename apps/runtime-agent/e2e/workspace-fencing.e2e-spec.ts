import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { listAll } from '@sandbox/storage';
import { TestPlatform } from '@sandbox/testing';

const STALE = 3;
const MiB = 1 << 20;

/**
 * An agent paused in the middle of a workspace push while its attempt is retried on another agent:
 * when it resumes, the session's workspace is the retry's, byte for byte. Only this suite's own
 * agent process is paused (SIGSTOP), never a shared service.
 */
describe('workspace writes fenced by attempt', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    const env = { HEARTBEAT_INTERVAL_MS: '500', STALE_AFTER_SECONDS: String(STALE) };
    p = await TestPlatform.start('e2e-wsfence', { agents: 2, warmPool: 'python-basic=1', agentEnv: env, controlPlaneEnv: env });
    p.startReaper({ ...env, REAPER_INTERVAL_MS: '500', MAX_RETRIES: '2' });
  });

  afterAll(async () => {
    for (const a of p?.agents.values() ?? []) a.kill('SIGCONT');
    await p?.stop();
  });

  const get = async (id: string) => (await p.api('GET', `/v1/executions/${id}`)).body;
  const version = async (sessionId: string) => Number((await p.query('SELECT workspace_version AS v FROM sessions WHERE id = ?', [sessionId]))[0].v);

  it('pause an agent mid-sync of a big file, let the retry finish, resume: the workspace is the retry\'s, byte for byte', async () => {
    const s = await p.session('python-basic', { resources: { memory: '1536Mi', disk: '2Gi' } });
    // every attempt writes its own random bytes and says which; written.txt comes last, when the push starts
    const code = [
      'import hashlib, os',
      `data = os.urandom(${160 * MiB})`,
      'open("big.bin", "wb").write(data)',
      'token = os.urandom(8).hex()',
      'open("attempt.txt", "w").write(token)',
      'print(token, hashlib.sha256(data).hexdigest())',
      'open("written.txt", "w").write("1")',
    ].join('\n');
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code, timeout: 60 });
    expect(posted.status).toBe(202);
    const id = posted.body.id as string;
    const first = await p.until('running', async () => (await get(id)).status === 'running' && get(id));
    const paused = first.runtime_node as string;
    const container = (await p.api('GET', `/v1/sessions/${s.id}`)).body.container_id as string;
    await p.until('the run done and its push under way', async () => {
      try {
        execFileSync('docker', ['exec', container, 'test', '-f', '/workspace/written.txt']);
        return true;
      } catch {
        return false;
      }
    }, 60_000);
    // some of the 160 MiB is on its way up (at most a few hundred MiB/s on loopback)
    await new Promise((r) => setTimeout(r, 300));
    p.agents.get(paused)!.kill('SIGSTOP');
    // paused before its commit: nothing of the first attempt is the workspace
    expect(await version(s.id)).toBe(0);

    const done = await p.until('retried and completed elsewhere', async () => {
      const e = await get(id);
      return e.status === 'completed' && e;
    }, 120_000);
    expect(done).toMatchObject({ attempt: 2, retry_count: 1 });
    expect(done.runtime_node).not.toBe(paused);
    const [token, digest] = (done.stdout as string).trim().split(' ');
    const committed = await version(s.id);

    p.agents.get(paused)!.kill('SIGCONT');
    // the woken agent gives its push up (abandoned, or fenced out at its commit) and deletes what it uploaded
    await p.until('the stale push ended', async () => /cannot store the workspace|workspace push fenced out/.test(p.agentLog(paused)), 60_000);

    expect(await version(s.id)).toBe(committed);
    expect(await p.workspaceFiles(s.id)).toEqual(['attempt.txt', 'big.bin', 'written.txt']);
    expect((await p.raw('GET', `/v1/sessions/${s.id}/files/attempt.txt`)).bytes.toString()).toBe(token);
    const big = await fetch(`${p.url}/v1/sessions/${s.id}/files/big.bin`, { headers: p.authorization() });
    const bytes = Buffer.from(await big.arrayBuffer());
    expect(bytes.length).toBe(160 * MiB);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(digest);
    // only the retry's objects are stored: none of the first attempt is left
    const keys = (await listAll(p.storage.store, `sessions/${s.id}/`)).map((o) => o.key);
    expect(keys).toHaveLength(3);
    expect(keys.every((k) => k.includes(`/objects/${id}.2/`))).toBe(true);
    // and the next execution, wherever it runs, sees the retry's files
    const next = await p.execute(s.id, { code: 'import hashlib\nprint(open("attempt.txt").read(), hashlib.sha256(open("big.bin", "rb").read()).hexdigest())' });
    expect(next.stdout).toBe(`${token} ${digest}\n`);
  });
});
