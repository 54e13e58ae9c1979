import { execFileSync } from 'node:child_process';
import { TestPlatform } from '@sandbox/testing';

/**
 * The walking skeleton through HTTP: a real control plane and runtime agent (built, spawned),
 * MariaDB, Redis and Docker. Every assertion is on what the API answers or the database holds.
 */
describe('execution path through the REST API', () => {
  let p: TestPlatform;

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-path', { warmPool: 'python-basic=2,nodejs-basic=1', agentEnv: { AGENT_CAPACITY: '4' } });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('answers liveness, readiness and the OpenAPI document', async () => {
    expect((await p.api('GET', '/health')).body).toEqual({ status: 'ok' });
    const ready = await p.api('GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info).toEqual({ database: { status: 'up' }, redis: { status: 'up' } });
    const doc = await p.api('GET', '/docs/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/templates', '/v1/sessions', '/v1/sessions/{id}', '/v1/sessions/{id}/executions', '/v1/executions/{id}']),
    );
  });

  it('lists the four seed templates and reads one', async () => {
    const list = await p.api('GET', '/v1/templates');
    expect(list.body.items.map((t: { id: string }) => t.id)).toEqual(['gcc', 'nodejs-basic', 'python-basic', 'python-datascience']);
    const one = await p.api('GET', '/v1/templates/nodejs-basic');
    expect(one.body).toMatchObject({ id: 'nodejs-basic', image: 'sandbox-nodejs:20-basic', language: 'javascript', languages: ['javascript', 'bash'] });
  });

  it('creates a session as `creating` with the seed fields, and a node binds it', async () => {
    const created = await p.api('POST', '/v1/sessions', { template_id: 'python-basic', env_vars: { GREETING: 'hi' }, timeout: 120 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      template_id: 'python-basic',
      status: 'creating',
      runtime_type: 'docker',
      resources_cpu: '1',
      resources_memory: '512Mi',
      resources_disk: '1Gi',
      env_vars: ['GREETING'],
      timeout: 120,
    });
    const running = await p.until('session running', async () => {
      const s = (await p.api('GET', `/v1/sessions/${created.body.id}`)).body;
      return s.status === 'running' && s;
    });
    expect(running.runtime_node).toBe(p.nodeIds[0]);
    const [row] = await p.query('SELECT runtime_node, container_id, status FROM sessions WHERE id = ?', [created.body.id]);
    expect(row).toEqual({ runtime_node: p.nodeIds[0], container_id: running.container_id, status: 'running' });
    expect(p.containers(`sandbox.node=${p.nodeIds[0]}`)).toContain(running.container_id);
  });

  it('runs python hello world and stores the result in MariaDB', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'import os\nprint("hello", os.environ.get("GREETING", "-"), 6 * 7)' });
    expect(e).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'hello - 42\n', stderr: '', language: 'python', error: null, attempt: 1 });
    expect(e.execution_time).toBeGreaterThan(0);
    const [row] = await p.query('SELECT status, stdout, exit_code, runtime_node FROM executions WHERE id = ?', [e.id]);
    expect(row).toEqual({ status: 'completed', stdout: 'hello - 42\n', exit_code: 0, runtime_node: p.nodeIds[0] });
    expect((await p.api('GET', `/v1/executions/${e.id}`)).body).toMatchObject({ id: e.id, status: 'completed', stdout: 'hello - 42\n' });
  });

  it("passes the session's env vars to its programs", async () => {
    const s = await p.session('python-basic', { env_vars: { GREETING: 'bonjour' } });
    const e = await p.execute(s.id, { code: 'import os\nprint(os.environ["GREETING"])' });
    expect(e.stdout).toBe('bonjour\n');
  });

  it('runs node hello world in the nodejs template, and bash in any template', async () => {
    const s = await p.session('nodejs-basic');
    const js = await p.execute(s.id, { code: 'console.log(`hello from node ${process.versions.node.split(".")[0]}`, [1, 2, 3].map((x) => x * 2).join(","))' });
    expect(js).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'hello from node 20 2,4,6\n', language: 'javascript' });
    const sh = await p.execute(s.id, { code: 'echo "$((6 * 7))" && id -u', language: 'bash' });
    expect(sh).toMatchObject({ status: 'completed', stdout: '42\n1000\n', language: 'bash' });
  });

  it('reports stderr and a non-zero exit code as a completed run', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'import sys\nprint("to out")\nprint("to err", file=sys.stderr)\nsys.exit(3)' });
    expect(e).toMatchObject({ status: 'completed', exit_code: 3, stdout: 'to out\n', stderr: 'to err\n', error: null });
    const crash = await p.execute(s.id, { code: 'raise ValueError("boom")' });
    expect(crash).toMatchObject({ status: 'completed', exit_code: 1 });
    expect(crash.stderr).toMatch(/ValueError: boom/);
  });

  it('feeds stdin to the program', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))', stdin: '1 2 3\n4\n' });
    expect(e.stdout).toBe('10\n');
  });

  it('ends a program at its 2 s wall-time limit as `timeout`, and the session keeps working', async () => {
    const s = await p.session();
    const slow = await p.execute(s.id, { code: 'import time\nprint("started", flush=True)\ntime.sleep(60)', timeout: 2 });
    expect(slow).toMatchObject({ status: 'timeout', timeout: 2, stdout: 'started\n' });
    expect(slow.error).toMatch(/wall-time limit of 2s/);
    expect(slow.execution_time).toBeGreaterThanOrEqual(2);
    expect(slow.execution_time).toBeLessThan(10);
    const next = await p.execute(s.id, { code: 'print("still here")' });
    expect(next).toMatchObject({ status: 'completed', stdout: 'still here\n' });
  });

  it('keeps the workspace between executions of one session', async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'open("notes.txt", "w").write("written by execution 1")' });
    const read = await p.execute(s.id, { code: 'print(open("/workspace/notes.txt").read())' });
    expect(read.stdout).toBe('written by execution 1\n');
    const other = await p.session();
    const isolated = await p.execute(other.id, { code: 'import os\nprint(os.path.exists("notes.txt"))' });
    expect(isolated.stdout).toBe('False\n');
  });

  it('runs five executions posted at once in one session one at a time, in order (I2)', async () => {
    const s = await p.session();
    const code = (i: number) => `import time\nopen("order.log", "a").write("start ${i}\\n")\ntime.sleep(0.2)\nopen("order.log", "a").write("end ${i}\\n")`;
    const posted = await Promise.all([0, 1, 2, 3, 4].map(async (i) => p.api('POST', `/v1/sessions/${s.id}/executions`, { code: code(i) })));
    expect(posted.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(posted.every((r) => r.body.status === 'pending')).toBe(true);
    // ids are time-ordered: the API's acceptance order is the order they must run in
    const ids = posted.map((r) => r.body.id as string).sort();
    const done = await Promise.all(ids.map((id) => p.until(`execution ${id} terminal`, async () => {
      const e = (await p.api('GET', `/v1/executions/${id}`)).body;
      return e.status !== 'pending' && e.status !== 'running' && e;
    })));
    expect(done.every((e) => e.status === 'completed')).toBe(true);
    const log = await p.execute(s.id, { code: 'print(open("order.log").read(), end="")' });
    const order = posted.map((r) => Number(/start (\d)/.exec(r.body.code)![1]));
    const byId = ids.map((id) => order[posted.findIndex((r) => r.body.id === id)]);
    expect(log.stdout).toBe(byId.map((i) => `start ${i}\nend ${i}\n`).join(''));
    const rows = await p.query('SELECT id, started_at FROM executions WHERE session_id = ? ORDER BY started_at, id', [s.id]);
    expect(rows.map((r) => r.id).slice(0, 5)).toEqual(ids);
  });

  it('runs six sessions in parallel, each getting its own result', async () => {
    const sessions = await Promise.all([0, 1, 2, 3, 4, 5].map(() => p.session()));
    const results = await Promise.all(
      sessions.map((s, i) => p.execute(s.id, { code: `import time\ntime.sleep(0.3)\nprint("session ${i}", ${i} * ${i})` })),
    );
    results.forEach((e, i) => {
      expect(e).toMatchObject({ status: 'completed', session_id: sessions[i].id, stdout: `session ${i} ${i * i}\n` });
    });
    expect(new Set(sessions.map((s) => s.container_id)).size).toBe(6);
  });

  it('answers 202 `pending` without wait, and GET shows the terminal result later', async () => {
    const s = await p.session();
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print("later")' });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ status: 'pending', stdout: null, exit_code: null, session_id: s.id });
    const e = await p.until('terminal', async () => {
      const r = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      return r.status === 'completed' && r;
    });
    expect(e.stdout).toBe('later\n');
  });

  it('answers 202 with the execution as it is when wait_ms runs out first', async () => {
    const s = await p.session();
    const r = await p.api('POST', `/v1/sessions/${s.id}/executions?wait_ms=300`, { code: 'import time\ntime.sleep(3)' });
    expect(r.status).toBe(202);
    expect(['pending', 'running']).toContain(r.body.status);
  });

  it("lists a session's executions newest first, with a cursor", async () => {
    const s = await p.session();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await p.execute(s.id, { code: `print(${i})` })).id);
    const first = await p.api('GET', `/v1/sessions/${s.id}/executions?limit=2`);
    expect(first.body.items.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.items[0]).not.toHaveProperty('code');
    const second = await p.api('GET', `/v1/sessions/${s.id}/executions?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], next_cursor: null });
  });

  it('lists sessions by status with a cursor', async () => {
    const s = await p.session();
    await p.api('DELETE', `/v1/sessions/${s.id}`);
    const terminated = await p.api('GET', '/v1/sessions?status=terminated&limit=100');
    expect(terminated.body.items.map((x: { id: string }) => x.id)).toContain(s.id);
    expect(terminated.body.items.every((x: { status: string }) => x.status === 'terminated')).toBe(true);
    const page = await p.api('GET', '/v1/sessions?limit=1');
    expect(page.body.items).toHaveLength(1);
    const next = await p.api('GET', `/v1/sessions?limit=1&cursor=${page.body.next_cursor}`);
    expect(next.body.items[0].id < page.body.items[0].id).toBe(true);
  });

  it('terminates a session: `terminated`, its container removed, no more executions (409)', async () => {
    const s = await p.session();
    await p.execute(s.id, { code: 'print(1)' });
    const ended = await p.api('DELETE', `/v1/sessions/${s.id}`);
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ id: s.id, status: 'terminated' });
    expect(ended.body.completed_at).not.toBeNull();
    await p.until('container removed', async () => !p.containers(`sandbox.node=${p.nodeIds[0]}`).includes(s.container_id));
    const again = await p.api('DELETE', `/v1/sessions/${s.id}`);
    expect(again.body.status).toBe('terminated');
    const refused = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'print(1)' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'session_ended' });
    expect(refused.body.error.message).toMatch(/terminated/);
  });

  it('stops a running execution when its session is terminated', async () => {
    const s = await p.session();
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import time\nprint("go", flush=True)\ntime.sleep(60)' });
    await p.until('running', async () => (await p.api('GET', `/v1/executions/${posted.body.id}`)).body.status === 'running');
    await p.api('DELETE', `/v1/sessions/${s.id}`);
    const e = await p.until('execution ended', async () => {
      const r = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      return r.status !== 'running' && r;
    });
    expect(e.status).toBe('failed');
    expect(e.error).toMatch(/terminated/);
  });

  it('replaces a container that died: the execution in flight fails with a clear error, the next one runs', async () => {
    const s = await p.session();
    const posted = await p.api('POST', `/v1/sessions/${s.id}/executions`, { code: 'import subprocess\nsubprocess.run(["sleep", "30"])' });
    // the program itself runs (not only the claim): seen from the host, without entering the container
    await p.until('the program runs', async () => execFileSync('docker', ['top', s.container_id], { encoding: 'utf8' }).includes('sleep 30'));
    execFileSync('docker', ['kill', s.container_id]);
    const lost = await p.until('execution ended', async () => {
      const r = (await p.api('GET', `/v1/executions/${posted.body.id}`)).body;
      return r.status !== 'running' && r.status !== 'pending' && r;
    });
    expect(lost.status).toBe('failed');
    expect(lost.error).toMatch(/sandbox lost/);
    const next = await p.execute(s.id, { code: 'print("new container")' });
    expect(next).toMatchObject({ status: 'completed', stdout: 'new container\n' });
    const after = (await p.api('GET', `/v1/sessions/${s.id}`)).body;
    expect(after.container_id).not.toBe(s.container_id);
  });
});
