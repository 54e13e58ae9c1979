// Loaded first by main.ts: OpenTelemetry patches modules as they are required.
import { loadConfig, reaperConfigSchema } from '@sandbox/config';
import { startTracing } from '@sandbox/telemetry';

startTracing('reaper', loadConfig(reaperConfigSchema).OTEL_EXPORTER_OTLP_ENDPOINT);
