import { createServer, type Server } from 'node:http';
import { freePort } from './ports';

export interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
  /** nanoseconds */
  startNs: bigint;
  endNs: bigint;
}

/** A small OTLP/HTTP (JSON) trace receiver: what the control plane and the agent export lands here. */
export async function otlpReceiver(): Promise<{ server: Server; port: number; spans: ExportedSpan[] }> {
  const spans: ExportedSpan[] = [];
  const port = await freePort();
  const value = (v: Record<string, unknown>) => v['stringValue'] ?? v['intValue'] ?? v['boolValue'] ?? v['doubleValue'];
  const attrs = (list: { key: string; value: Record<string, unknown> }[] = []) => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || !req.headers['content-type']?.startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString());
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) spans.push({ service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', attributes: attrs(s.attributes), startNs: BigInt(s.startTimeUnixNano), endNs: BigInt(s.endTimeUnixNano) });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, port, spans };
}
