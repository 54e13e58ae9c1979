import { type Attributes, context, propagation, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BullMQOtel } from 'bullmq-otel';

const UNTRACED = new Set(['/health', '/ready', '/metrics']);
const tracer = () => trace.getTracer('sandbox');

/**
 * Starts OpenTelemetry for this process; import it before anything else so the HTTP module is
 * patched. Every request has a trace id (it goes back in `traceparent`, and into the logs); spans are
 * recorded, and exported as OTLP/HTTP JSON to `${endpoint}/v1/traces`, only when an endpoint is
 * configured.
 */
export function startTracing(service: string, endpoint: string | undefined): void {
  const sdk = new NodeSDK({
    serviceName: service,
    spanProcessors: endpoint ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }))] : [],
    // without an exporter a recorded span goes nowhere: ids only, which costs a few % of each process's CPU
    ...(endpoint ? {} : { sampler: new AlwaysOffSampler() }),
    // traces only: metrics are prom-client's (/metrics), logs pino's; empty lists keep the SDK from
    // exporting its own to the same endpoint
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.has((req.url ?? '').split('?')[0]!),
        // the process's own calls to S3 and the Docker socket are spans of their own parent only
        requireParentforOutgoingSpans: true,
      }),
    ],
  });
  sdk.start();
  // spans still in the batch are sent before the process exits
  // an exporter that cannot reach its collector at exit loses those spans; the process ends regardless
  process.once('beforeExit', () => void sdk.shutdown().catch(() => undefined));
}

/** BullMQ's OpenTelemetry integration: a job carries its producer's context to the worker. */
export function queueTelemetry(): BullMQOtel {
  return new BullMQOtel({ tracerName: 'sandbox-queue' });
}

/** The W3C traceparent of the active span, to store with a row or send back in a header. */
export function currentTraceparent(): string | null {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier['traceparent'] ?? null;
}

/** Attributes on the active span (e.g. the ids a request resolved). */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Runs `fn` in a span; with `parent` (a traceparent) the span continues that trace, e.g. the request
 * that accepted an execution an agent now runs. Errors mark the span and go on.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, parent?: string | null): Promise<T> {
  const base = parent ? propagation.extract(context.active(), { traceparent: parent }) : context.active();
  return tracer().startActiveSpan(name, { attributes }, base, async (span) => {
    try {
      return await fn(span);
    } catch (e) {
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  });
}
