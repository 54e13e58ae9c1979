import { type HttpClient, SandboxConnectionError } from './http-client';
import { readServerSentEvents } from './sse';
import { type ExecutionEvent } from './types';

const EVENT_TYPES = new Set(['execution', 'attempt', 'stdout', 'stderr', 'result']);

export interface StreamOptions {
  readonly signal?: AbortSignal;
  /** Reconnections in a row that brought no event before giving up (default 5). */
  readonly maxReconnects?: number;
}

/**
 * The events of one execution until its `result`, over as many connections as it takes: `open` makes
 * the first (POST …?stream=true, or GET …/events); when a connection ends or breaks before `result`,
 * GET /v1/executions/{id}/events with Last-Event-ID gets the rest, nothing twice. The `execution`
 * event each connection starts with is passed on once.
 */
export async function* followExecution(
  http: HttpClient,
  open: () => Promise<Response>,
  opts: StreamOptions & { readonly executionId?: string; readonly lastEventId?: string } = {},
): AsyncGenerator<ExecutionEvent> {
  let executionId = opts.executionId;
  let lastEventId = opts.lastEventId;
  let sawExecution = false;
  let failures = 0;
  let lastError: unknown = null;
  for (let first = true; ; first = false) {
    let res: Response | null = null;
    let progressed = false;
    try {
      res = first
        ? await open()
        : await http.request('GET', `/v1/executions/${encodeURIComponent(executionId!)}/events`, {
            headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
            signal: opts.signal,
          });
      executionId ??= idFromLocation(res.headers.get('location'));
      if (!res.body) throw new SandboxConnectionError('the event stream has no body', null);
      for await (const raw of readServerSentEvents(res.body, opts.signal)) {
        if (!EVENT_TYPES.has(raw.event)) continue;
        const event = { type: raw.event, data: JSON.parse(raw.data), id: raw.id } as ExecutionEvent;
        progressed = true;
        if (raw.id) lastEventId = raw.id;
        if (event.type === 'execution') {
          executionId ??= event.data.id;
          if (sawExecution) continue;
          sawExecution = true;
        }
        yield event;
        if (event.type === 'result') return;
      }
      lastError = new SandboxConnectionError(`the event stream of ${executionId ?? 'the execution'} ended before its result`, null);
    } catch (e) {
      // an API error (404, 401, a 422 for a bad Last-Event-ID) will not go away by asking again
      if (opts.signal?.aborted || !(e instanceof SandboxConnectionError || e instanceof TypeError)) throw e;
      lastError = e;
    }
    failures = progressed ? 0 : failures + 1;
    if (!executionId || failures > (opts.maxReconnects ?? 5)) throw lastError;
    await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** failures, 5_000)));
  }
}

function idFromLocation(location: string | null): string | undefined {
  const m = location?.match(/\/v1\/executions\/([^/?#]+)/);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
