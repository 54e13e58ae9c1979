// Loaded first by main.ts: OpenTelemetry patches modules as they are required.
import { loadConfig, agentConfigSchema } from '@sandbox/config';
import { startTracing } from '@sandbox/telemetry';

startTracing('runtime-agent', loadConfig(agentConfigSchema).OTEL_EXPORTER_OTLP_ENDPOINT);
