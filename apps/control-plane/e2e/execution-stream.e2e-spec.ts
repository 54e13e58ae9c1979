import { EventStream, type ReceivedEvent, TestPlatform } from '@sandbox/testing';

/**
 * Streamed output (GET /v1/executions/:id/events, POST …/executions?stream=true) with real agents,
 * Redis and control planes: lines arrive while the program runs, the pieces joined are the stored
 * output byte for byte, a client resumes with Last-Event-ID on another control plane after the first
 * is killed, and a reader that stops reading holds back nothing but itself.
 */
const TICKS = (n: number) => `import time\nfor i in range(${n}):\n    print(f"line {i}", flush=True)\n    time.sleep(0.1)`;
const joined = (events: ReceivedEvent[], kind: string) =>
  events
    .filter((e) => e.event === kind)
    .map((e) => e.data.data)
    .join('');

describe('execution streams', () => {
  let p: TestPlatform;
  const headers = () => p.authorization();
  const post = async (sessionId: string, body: Record<string, unknown>) => (await p.api('POST', `/v1/sessions/${sessionId}/executions`, { timeout: 60, ...body })).body.id as string;
  const follow = (id: string, extra: Record<string, string> = {}, base = p.url, query = '') => EventStream.open(`${base}/v1/executions/${id}/events${query}`, { ...headers(), ...extra });

  beforeAll(async () => {
    p = await TestPlatform.start('e2e-stream', { warmPool: 'python-basic=2' });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('sends each line while the program runs, then the result; the pieces joined are the stored output', async () => {
    const s = await p.session();
    const id = await post(s.id, { code: TICKS(30) });
    const stream = await follow(id);
    expect(stream.status).toBe(200);
    expect(stream.res.headers['content-type']).toMatch(/^text\/event-stream/);
    const first = await stream.next();
    expect(first).toMatchObject({ event: 'execution', data: { id, session_id: s.id } });
    const events: ReceivedEvent[] = [];
    let e = await stream.next();
    while (e && e.event !== 'stdout') {
      events.push(e);
      e = await stream.next();
    }
    expect(e).toMatchObject({ event: 'stdout', data: { data: 'line 0\n' } });
    // the first line came long before the end: the program still runs (it has 2.9 s to go)
    expect((await p.api('GET', `/v1/executions/${id}`)).body.status).toBe('running');
    const rest = await stream.rest();
    const all = [...events, e!, ...rest];
    expect(all.map((x) => x.event)).toEqual(['attempt', ...Array(30).fill('stdout'), 'result']);
    expect(all[0]!.data).toEqual({ attempt: 1 });
    const result = all.at(-1)!.data;
    expect(result).toMatchObject({ id, status: 'completed', exit_code: 0 });
    const stored = (await p.api('GET', `/v1/executions/${id}`)).body;
    expect(result).toEqual(stored);
    expect(joined(all, 'stdout')).toBe(stored.stdout);
    expect(stored.stdout).toBe(Array.from({ length: 30 }, (_, i) => `line ${i}\n`).join(''));
    // every piece has an id, strictly increasing
    const ids = all.filter((x) => x.id).map((x) => x.id!);
    expect(ids).toHaveLength(31);
    expect([...ids].sort(byEntryId)).toEqual(ids);
  });

  it('answers POST ?stream=true with the same stream, stderr and text cut mid-character included', async () => {
    const s = await p.session();
    // a 4-byte character written in two halves, and bytes that are not UTF-8 at all
    const code = 'import sys, time\nb = "😀".encode()\nsys.stdout.buffer.write(b[:2]); sys.stdout.flush(); time.sleep(0.2)\nsys.stdout.buffer.write(b[2:] + b"\\xff!\\n"); sys.stdout.flush()\nprint("oops", file=sys.stderr)\nsys.exit(3)';
    const stream = await EventStream.open(`${p.url}/v1/sessions/${s.id}/executions?stream=true`, headers(), 'POST', { code });
    expect(stream.status).toBe(200);
    const events = await stream.rest();
    expect(events[0]).toMatchObject({ event: 'execution', data: { status: 'pending' } });
    expect(stream.res.headers['location']).toBe(`/v1/executions/${events[0]!.data.id}`);
    const result = events.at(-1)!;
    expect(result).toMatchObject({ event: 'result', data: { status: 'completed', exit_code: 3, stdout: '😀\ufffd!\n', stderr: 'oops\n' } });
    expect(joined(events, 'stdout')).toBe(result.data.stdout);
    expect(joined(events, 'stderr')).toBe(result.data.stderr);
  });

  it('streams base64 pieces whose bytes joined are the stored bytes (encoding base64)', async () => {
    const s = await p.session();
    const code = 'import sys, time\nfor i in range(5):\n    sys.stdout.buffer.write(bytes(range(i * 50, i * 50 + 50))); sys.stdout.flush(); time.sleep(0.05)';
    const stream = await EventStream.open(`${p.url}/v1/sessions/${s.id}/executions?stream=true`, headers(), 'POST', { code, encoding: 'base64' });
    const events = await stream.rest();
    const bytes = Buffer.concat(events.filter((e) => e.event === 'stdout').map((e) => Buffer.from(e.data.data, 'base64')));
    expect(bytes).toEqual(Buffer.from(Array.from({ length: 250 }, (_, i) => i)));
    expect(bytes).toEqual(Buffer.from(events.at(-1)!.data.stdout, 'base64'));
  });

  it('resumes after Last-Event-ID on a second control plane when the first is killed mid-stream: nothing lost, nothing twice', async () => {
    const replica = await p.startReplica();
    try {
      await resumes(replica.url);
    } finally {
      p.startControlPlane();
      await p.ready();
    }
  });

  async function resumes(replicaUrl: string): Promise<void> {
    const s = await p.session();
    const id = await post(s.id, { code: TICKS(40) });
    const first = await follow(id);
    const seen: ReceivedEvent[] = [];
    while (seen.filter((e) => e.event === 'stdout').length < 5) seen.push((await first.next())!);
    await p.stopControlPlane('SIGKILL');
    expect(await first.next()).toBeNull();
    const lastId = seen.filter((e) => e.id).at(-1)!.id!;
    const second = await follow(id, { 'last-event-id': lastId }, replicaUrl);
    const rest = await second.rest();
    expect(rest[0]!.event).toBe('execution');
    const all = [...seen, ...rest.slice(1)];
    expect(joined(all, 'stdout')).toBe(Array.from({ length: 40 }, (_, i) => `line ${i}\n`).join(''));
    expect(all.at(-1)).toMatchObject({ event: 'result', data: { id, status: 'completed' } });
    expect(joined(all, 'stdout')).toBe(all.at(-1)!.data.stdout);
    // the same through the query parameter, for clients that cannot set headers
    const again = await follow(id, {}, replicaUrl, `?last_event_id=${encodeURIComponent(lastId)}`);
    expect(joined(await again.rest(), 'stdout')).toBe(joined(rest, 'stdout'));
  }

  it('lets a reader that stops reading hold back nothing: the run ends, and the reader then gets every byte', async () => {
    const s = await p.session();
    // 880 KiB, just under the output cap, in many pieces
    const code = 'import sys\nfor i in range(880):\n    sys.stdout.write(f"{i:06d}" + "x" * 1017 + "\\n"); sys.stdout.flush()';
    const id = await post(s.id, { code });
    const stream = await follow(id);
    stream.pause();
    const ended = await p.until(`${id} ended`, async () => ((e) => e.status !== 'pending' && e.status !== 'running' && e)((await p.api('GET', `/v1/executions/${id}`)).body), 60_000);
    expect(ended).toMatchObject({ status: 'completed', stdout_truncated: false });
    expect(ended.stdout).toHaveLength(880 * 1024);
    stream.resume();
    const events = await stream.rest();
    expect(joined(events, 'stdout')).toBe(ended.stdout);
    expect(events.at(-1)!.data).toEqual(ended);
  });

  it('answers 422 for a Last-Event-ID that is not one, 404 for an unknown or foreign execution', async () => {
    const s = await p.session();
    const e = await p.execute(s.id, { code: 'print(1)' });
    const bad = await p.api('GET', `/v1/executions/${e.id}/events`, undefined, { 'last-event-id': 'yesterday' });
    expect(bad).toMatchObject({ status: 422, body: { error: { code: 'validation_failed', details: [{ field: 'Last-Event-ID' }] } } });
    expect((await p.api('GET', '/v1/executions/exec_missing/events')).status).toBe(404);
    const other = (await p.createKey('tenant', 'other')).secret;
    expect((await p.api('GET', `/v1/executions/${e.id}/events`, undefined, { authorization: `Bearer ${other}` })).status).toBe(404);
    const both = await p.api('POST', `/v1/sessions/${s.id}/executions?stream=true&wait=true`, { code: 'print(1)' });
    expect(both).toMatchObject({ status: 422, body: { error: { code: 'validation_failed', details: [{ field: 'stream' }] } } });
    // a finished execution's stream is its pieces and its result, at once
    const done = await (await follow(e.id)).rest();
    expect(done.map((x) => x.event)).toEqual(['execution', 'attempt', 'stdout', 'result']);
  });
});

function byEntryId(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am! !== bm! ? (am! < bm! ? -1 : 1) : as! < bs! ? -1 : as! > bs! ? 1 : 0;
}
