import { type IncomingMessage, request } from 'node:http';

/** One Server-Sent Event as a client gets it: `data` parsed as JSON. */
export interface ReceivedEvent {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: any;
}

/**
 * A client of a text/event-stream answer over a real socket: events as they arrive (`next`), the
 * status and headers, and `pause`/`resume` to act as a slow reader (the socket stops being read).
 */
export class EventStream {
  private readonly queue: ReceivedEvent[] = [];
  private buffer = '';
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (text: string) => this.feed(text));
    const end = () => {
      this.ended = true;
      this.waiter?.();
    };
    res.on('end', end);
    res.on('close', end);
    res.on('error', end);
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** Opens `method url` with `headers`; resolves once the status line and headers came. */
  static open(url: string, headers: Record<string, string>, method = 'GET', body?: unknown): Promise<EventStream> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(url, { method, headers: { accept: 'text/event-stream', ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) } }, (res) => resolve(new EventStream(res)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The next event, or null once the stream ended (after the events it sent). */
  async next(timeoutMs = 60_000): Promise<ReceivedEvent | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.queue.length && !this.ended) {
      if (Date.now() > deadline) throw new Error(`no event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
      this.waiter = null;
    }
    return this.queue.shift() ?? null;
  }

  /** Every event until the stream ends. */
  async rest(timeoutMs = 60_000): Promise<ReceivedEvent[]> {
    const all: ReceivedEvent[] = [];
    for (let e = await this.next(timeoutMs); e; e = await this.next(timeoutMs)) all.push(e);
    return all;
  }

  pause(): void {
    this.res.pause();
  }

  resume(): void {
    this.res.resume();
  }

  close(): void {
    this.res.destroy();
  }

  private feed(text: string): void {
    this.buffer += text;
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
      }
      if (fields.has('data')) this.queue.push({ event: fields.get('event') ?? 'message', id: fields.get('id'), data: JSON.parse(fields.get('data')!) });
    }
    this.waiter?.();
  }
}
