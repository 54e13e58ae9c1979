import { apiErrorOf, AuthenticationError, ConflictError, NotFoundError, parseRetryAfterSeconds, RateLimitedError, SandboxApiError, ServiceUnavailableError, ValidationError } from './errors';
import { HttpClient } from './http-client';
import { DEFAULT_RETRY_POLICY, retryDelayMs } from './retry';
import { readServerSentEvents, ServerSentEventParser } from './sse';

const headers = (h: Record<string, string>) => new Headers(h);

describe('ServerSentEventParser', () => {
  it('parses events with ids, multi-line data, comments and retry, whatever the chunking', () => {
    const text = 'retry: 1000\n\n: keep-alive\n\nevent: execution\ndata: {"id":"e1"}\n\nid: 17-0\nevent: stdout\ndata: {"data":"a"}\n\nevent: x\ndata: one\ndata: two\n\n';
    const whole = new ServerSentEventParser().push(text);
    expect(whole).toEqual([
      { event: 'execution', data: '{"id":"e1"}', id: undefined },
      { event: 'stdout', data: '{"data":"a"}', id: '17-0' },
      { event: 'x', data: 'one\ntwo', id: undefined },
    ]);
    // one character at a time, and with CRLF line ends split between chunks
    const p = new ServerSentEventParser();
    expect([...text].flatMap((c) => p.push(c))).toEqual(whole);
    const crlf = text.replace(/\n/g, '\r\n');
    const q = new ServerSentEventParser();
    expect([...crlf].flatMap((c) => q.push(c))).toEqual(whole);
    expect(new ServerSentEventParser().push(text.replace(/\n/g, '\r'))).toEqual(whole);
  });

  it('dispatches nothing for an event without data or not yet ended by a blank line', () => {
    const p = new ServerSentEventParser();
    expect(p.push('event: stdout\n\nid: 1-0\ndata: {"data":"x"}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'message', data: '{"data":"x"}', id: '1-0' }]);
  });

  it('reads a byte stream with a UTF-8 character split between chunks', async () => {
    const bytes = new TextEncoder().encode('event: stdout\ndata: {"data":"é"}\n\n');
    const split = bytes.indexOf(0xc3) + 1;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, split));
        c.enqueue(bytes.slice(split));
        c.close();
      },
    });
    const events = [];
    for await (const e of readServerSentEvents(body)) events.push(e);
    expect(events).toEqual([{ event: 'stdout', data: '{"data":"é"}', id: undefined }]);
  });
});

describe('retryDelayMs', () => {
  const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 5_000 };

  it('waits what Retry-After says, in seconds or as a date, capped', () => {
    expect(retryDelayMs(0, '2', policy)).toBe(2_000);
    expect(retryDelayMs(3, '0', policy)).toBe(0);
    expect(retryDelayMs(0, '60', policy)).toBe(5_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryDelayMs(0, 'Wed, 01 Jan 2025 00:00:03 GMT', policy, Math.random, now)).toBe(3_000);
  });

  it('backs off exponentially with full jitter without Retry-After', () => {
    expect(retryDelayMs(0, null, policy, () => 0.999)).toBe(99);
    expect(retryDelayMs(3, null, policy, () => 0.5)).toBe(400);
    expect(retryDelayMs(10, 'soon', policy, () => 0.999)).toBe(4_995);
    expect(retryDelayMs(2, null, policy, () => 0)).toBe(0);
  });

  it('reads Retry-After', () => {
    expect(parseRetryAfterSeconds('7')).toBe(7);
    expect(parseRetryAfterSeconds(' 1.5 ')).toBe(1.5);
    expect(parseRetryAfterSeconds(null)).toBeNull();
    expect(parseRetryAfterSeconds('later')).toBeNull();
  });
});

describe('apiErrorOf', () => {
  it("maps the API's error body to a typed error with its code, details and trace", () => {
    const e = apiErrorOf(404, { error: { code: 'not_found', message: "session 'x' does not exist", details: [] } }, headers({ traceparent: '00-abc-def-01' }));
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e).toBeInstanceOf(SandboxApiError);
    expect(e).toMatchObject({ status: 404, code: 'not_found', message: "session 'x' does not exist", traceparent: '00-abc-def-01', name: 'NotFoundError' });
    const v = apiErrorOf(422, { error: { code: 'validation_failed', message: 'invalid', details: [{ field: 'code', message: 'code is empty' }] } });
    expect(v).toBeInstanceOf(ValidationError);
    expect(v.details).toEqual([{ field: 'code', message: 'code is empty' }]);
    const r = apiErrorOf(429, { error: { code: 'rate_limited', message: 'slow down' } }, headers({ 'retry-after': '3' }));
    expect(r).toBeInstanceOf(RateLimitedError);
    expect(r.retryAfterSeconds).toBe(3);
    expect(apiErrorOf(401, { error: { code: 'invalid_api_key', message: 'no' } })).toBeInstanceOf(AuthenticationError);
    expect(apiErrorOf(409, { error: { code: 'session_ended', message: 'ended' } })).toBeInstanceOf(ConflictError);
    expect(apiErrorOf(503, {})).toBeInstanceOf(ServiceUnavailableError);
  });

  it('still gives a usable error for a body that is not the API\'s', () => {
    const e = apiErrorOf(502, '<html>Bad Gateway</html>');
    expect(e.constructor).toBe(SandboxApiError);
    expect(e).toMatchObject({ status: 502, code: 'http_502', details: [] });
    expect(e.message).toContain('Bad Gateway');
  });
});

describe('HttpClient retries', () => {
  type Call = { url: string; init: RequestInit };
  const scripted = (answers: (() => Response)[]) => {
    const calls: Call[] = [];
    const fetch = async (url: string, init: RequestInit = {}) => {
      calls.push({ url, init });
      const next = answers.shift();
      if (!next) throw new Error('no more answers');
      return next();
    };
    return { calls, fetch };
  };
  const json = (status: number, body: unknown, h: Record<string, string> = {}) => () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...h } });
  const refused = () => () => {
    throw new TypeError('fetch failed');
  };

  it('retries 429 after Retry-After with the same Idempotency-Key, then answers', async () => {
    const { calls, fetch } = scripted([json(429, { error: { code: 'rate_limited', message: 'x' } }, { 'retry-after': '0' }), json(201, { id: 's1' })]);
    const http = new HttpClient({ apiKey: 'k', baseUrl: 'http://api/', fetch, retry: { baseDelayMs: 1 } });
    expect(await http.json('POST', '/v1/sessions', { json: { template_id: 't' }, idempotencyKey: true })).toEqual({ id: 's1' });
    expect(calls.map((c) => c.url)).toEqual(['http://api/v1/sessions', 'http://api/v1/sessions']);
    const keys = calls.map((c) => (c.init.headers as Record<string, string>)['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect((calls[0]!.init.headers as Record<string, string>)['authorization']).toBe('Bearer k');
  });

  it('gives up after maxRetries with the last error', async () => {
    const busy = json(503, { error: { code: 'capacity_exhausted', message: 'full' } }, { 'retry-after': '0' });
    const { calls, fetch } = scripted([busy, busy, busy]);
    const http = new HttpClient({ apiKey: 'k', baseUrl: 'http://api', fetch, retry: { maxRetries: 2 } });
    await expect(http.json('GET', '/v1/templates')).rejects.toMatchObject({ status: 503, code: 'capacity_exhausted' });
    expect(calls).toHaveLength(3);
  });

  it('retries a network error only where repeating it is safe', async () => {
    const get = scripted([refused(), json(200, { items: [] })]);
    await expect(new HttpClient({ apiKey: 'k', baseUrl: 'http://api', fetch: get.fetch, retry: { baseDelayMs: 1 } }).json('GET', '/v1/templates')).resolves.toEqual({ items: [] });
    const post = scripted([refused(), json(200, {})]);
    await expect(new HttpClient({ apiKey: 'k', baseUrl: 'http://api', fetch: post.fetch }).json('POST', '/v1/executions/e/cancel')).rejects.toMatchObject({ name: 'SandboxConnectionError' });
    expect(post.calls).toHaveLength(1);
    const keyed = scripted([refused(), json(201, { id: 'e' })]);
    await expect(new HttpClient({ apiKey: 'k', baseUrl: 'http://api', fetch: keyed.fetch, retry: { baseDelayMs: 1 } }).json('POST', '/v1/sessions/s/executions', { json: { code: 'x' }, idempotencyKey: 'k1' })).resolves.toEqual({ id: 'e' });
  });

  it('does not retry other errors, and encodes the query', async () => {
    const { calls, fetch } = scripted([json(404, { error: { code: 'not_found', message: 'gone' } })]);
    const http = new HttpClient({ apiKey: 'k', baseUrl: 'http://api', fetch });
    await expect(http.json('GET', '/v1/sessions', { query: { status: 'running', limit: 5, cursor: undefined } })).rejects.toBeInstanceOf(NotFoundError);
    expect(calls.map((c) => c.url)).toEqual(['http://api/v1/sessions?status=running&limit=5']);
  });
});
