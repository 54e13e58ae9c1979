/** One Server-Sent Event as it came over the wire (`data` still text). */
export interface RawServerSentEvent {
  readonly event: string;
  readonly data: string;
  /** The event's own `id:` field; absent when the event carried none. */
  readonly id: string | undefined;
}

/**
 * The text/event-stream format of the HTML standard, incrementally: `push` text as it arrives (any
 * chunking, even inside a line or a CRLF), get back the events it completed. Comments (`: keep-alive`)
 * and `retry:` are dropped; multi-line `data:` is joined with "\n"; an event without data is not
 * dispatched, as EventSource does.
 */
export class ServerSentEventParser {
  private buffer = '';
  private lastWasCR = false;
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(text: string): RawServerSentEvent[] {
    const out: RawServerSentEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      // the "\n" of a "\r\n" split over two chunks (or in this one) ends no second line
      const skip = c === '\n' && this.lastWasCR && i === start;
      this.lastWasCR = c === '\r';
      if (skip) {
        start = i + 1;
        continue;
      }
      this.line(this.buffer + text.slice(start, i), out);
      this.buffer = '';
      start = i + 1;
    }
    if (start < text.length) this.lastWasCR = false;
    this.buffer += text.slice(start);
    return out;
  }

  private line(line: string, out: RawServerSentEvent[]): void {
    if (line === '') {
      if (this.data.length) out.push({ event: this.event || 'message', data: this.data.join('\n'), id: this.id });
      this.event = '';
      this.data = [];
      this.id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}

/** The events of a text/event-stream body as they arrive; ends when the body does. */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<RawServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new ServerSentEventParser();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    signal?.removeEventListener('abort', cancel);
    // a consumer that stops early (break in for await) must not leave the connection open
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
