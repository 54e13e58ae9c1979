// Loaded first by main.ts: OpenTelemetry patches modules as they are required.
import { loadConfig, controlPlaneConfigSchema } from '@sandbox/config';
import { startTracing } from '@sandbox/telemetry';

startTracing('control-plane', loadConfig(controlPlaneConfigSchema).OTEL_EXPORTER_OTLP_ENDPOINT);
