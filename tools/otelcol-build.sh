#!/usr/bin/env bash
# The OpenTelemetry Collector of docker/otel-collector/builder-config.yaml, built on this host by the
# collector builder (Go modules from the Go module proxy) into $STACK_DIR/otelcol/otelcol, for the compose
# stack without a registry (docker/docker-compose.test.yml mounts it). Cached: rebuilt only when the
# builder config changes (a few minutes on two cores; seconds otherwise).
source "$(dirname "$0")/lib.sh"
CONFIG="$ROOT_DIR/docker/otel-collector/builder-config.yaml"
OUT="$STACK_DIR/otelcol"
STAMP="$OUT/builder-config.sha256"
# the release of every module in the config (and of docker/otel-collector/Dockerfile's builder)
BUILDER=go.opentelemetry.io/collector/cmd/builder@v0.165.0
sum=$( (echo "$BUILDER"; cat "$CONFIG") | sha256sum | cut -d' ' -f1)
if [ -x "$OUT/otelcol" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$sum" ]; then
  log "otelcol: cached ($OUT/otelcol)"
  exit 0
fi
log "otelcol: building with the collector builder (a few minutes, once)"
# the builder writes its sources and the binary to ./build (output_path)
build_go_tool otelcol "$OUT/otelcol" build/otelcol go run "$BUILDER" --config "$CONFIG"
echo "$sum" >"$STAMP"
log "otelcol: built ($("$OUT/otelcol" --version))"
