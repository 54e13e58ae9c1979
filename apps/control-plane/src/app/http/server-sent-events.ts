import { once } from 'node:events';
import { type Response } from 'express';

/** One Server-Sent Event: `data` goes as one line of JSON. */
export interface ServerSentEvent {
  readonly event: string;
  readonly data: unknown;
  /** The event's id: a client that reconnects sends the last one it got as `Last-Event-ID`. */
  readonly id?: string;
}

// proxies and load balancers cut a connection silent for a minute or so
const KEEPALIVE_MS = 15_000;

/**
 * Answers with `events` as a text/event-stream. A slow reader holds back only its own events: the
 * next one is taken once the socket took the last one. A client that hangs up aborts the signal the
 * events are made with, and a comment every 15 s keeps an idle stream open through proxies.
 */
export async function sendEvents(res: Response, events: (clientGone: AbortSignal) => AsyncIterable<ServerSentEvent>, status = 200): Promise<void> {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  res.status(status).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  // an EventSource that loses the connection tries again after a second, with Last-Event-ID
  res.write('retry: 1000\n\n');
  const keepalive = setInterval(() => gone.signal.aborted || res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  try {
    for await (const e of events(gone.signal)) {
      if (gone.signal.aborted) break;
      const text = `${e.id ? `id: ${e.id}\n` : ''}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
      if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    }
  } finally {
    clearInterval(keepalive);
    res.end();
  }
}
