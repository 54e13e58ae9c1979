import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Latency buckets in seconds, from a warm execution (~5 ms) to a long one (5 min). */
export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** One registry per process, with the process and Node.js runtime metrics and the service label. */
export function metricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // gauges that prom-client names like counters: promtool (and PromQL's rate()) would be misled
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return registry;
}

export type GaugeRows = Iterable<[Record<string, string>, number]>;

/**
 * A gauge whose rows are read from their source at each scrape; a source that fails (a database
 * down) reports no rows rather than failing the whole scrape.
 */
export function scrapedGauge(registry: Registry, name: string, help: string, labelNames: string[], read: () => GaugeRows | Promise<GaugeRows>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const rows = await Promise.resolve()
        .then(read)
        .catch((): GaugeRows => []);
      this.reset();
      for (const [labels, value] of rows) this.set(labels, value);
    },
  });
}

/**
 * `/metrics` of a process without an HTTP API (agent, reaper) on its own port. `authorize` sees the
 * Authorization header; anything else than GET /metrics with a header it accepts is refused.
 */
export function serveMetrics(
  registry: Registry,
  options: { port: number; host: string; authorize: (authorization: string | undefined) => Promise<boolean> },
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    options
      .authorize(req.headers.authorization)
      .then(async (ok) => {
        if (!ok) {
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="sandbox"' }).end('an API key of the admin scope is required\n');
          return;
        }
        const body = await registry.metrics();
        res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
      })
      .catch(() => res.writeHead(503).end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

/** serveMetrics for the life of a Nest application context (provide it with a factory). */
export class MetricsEndpoint {
  private server: Server | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly options: Parameters<typeof serveMetrics>[1],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.port) this.server = await serveMetrics(this.registry, this.options);
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
