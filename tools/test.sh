#!/usr/bin/env bash
# The whole test suite, from a fresh machine: `npm test` (and .ci/run) run exactly this.
#   1. the local stack (tools/stack-up.sh: installs and starts MariaDB, Redis, Docker, builds the images)
#   2. dependencies, lint (module boundaries) and type checks of every project, the compose file
#   3. unit tests, then integration tests on the real services, then the HTTP end-to-end suite with
#      real control plane and agent processes on Docker
# A service that cannot be started fails the run here, loudly; no suite is ever skipped.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
export NX_DAEMON=false NX_TUI=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=${NX_SKIP_NX_CACHE:-false}

step() { log "── $* ──"; }

step "stack"
bash tools/stack-up.sh
step "dependencies"
ensure_node_modules
# schemathesis and the Python SDK with its tests (built once into .stack/python, cached)
bash tools/python-env.sh >/dev/null
step "lint and typecheck"
npx nx run-many -t lint typecheck --outputStyle=static
step "deployment files"
# Compose v1 from Debian validates the file offline; no image is pulled. promtool (Debian prometheus)
# lints the metrics and rules, amtool (prometheus-alertmanager) the alert routing, systemd-analyze and
# ShellCheck check the host agent's unit and onboarding script; headless Chromium loads bull-board in the
# end-to-end tests, HAProxy (and socat for its admin socket) balances the control planes of the
# rolling-upgrade test.
ensure_packages docker-compose prometheus prometheus-alertmanager systemd shellcheck chromium haproxy socat
docker-compose -f docker/docker-compose.yml config -q
# the override that builds every image here (tools/compose-stack.e2e-spec.ts starts the stack with it)
docker-compose -f docker/docker-compose.yml -f docker/docker-compose.test.yml config -q
log "docker/docker-compose.yml is valid"
# the compose stack's OpenTelemetry Collector (built once, cached), and its configuration checked by it
bash tools/otelcol-build.sh
"$STACK_DIR/otelcol/otelcol" validate --config=docker/otel-collector/config.yaml
log "docker/otel-collector/config.yaml is valid"
# kustomize (built once from the Go module proxy, cached): every overlay of k8s/ renders;
# tools/k8s-manifests.integration-spec.ts checks the objects
KUSTOMIZE=$(bash tools/kustomize-install.sh)
for overlay in k8s/overlays/*/; do "$KUSTOMIZE" build "$overlay" >/dev/null || die "kustomize build $overlay failed"; done
log "k8s/ overlays render"
# each suite's results also go to a JSON report, summed at the end: how many tests ran, by suite
RESULTS="$STACK_DIR/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
step "unit tests"
npx jest -c jest.unit.config.js --json --outputFile="$RESULTS/unit.json"
step "integration tests (real MariaDB, Redis, Docker)"
npx jest -c jest.integration.config.js --runInBand --json --outputFile="$RESULTS/integration.json"
step "end-to-end tests (built control plane and agent processes, HTTP API, Docker)"
npx jest -c jest.e2e.config.js --runInBand --json --outputFile="$RESULTS/e2e.json"
# the last line is the plain "N passed, N failed, N skipped" that CI reads as the run's count
node -e '
  const r = ["unit", "integration", "e2e"].map((s) => [s, require(`${process.argv[1]}/${s}.json`)]);
  const n = (k) => r.reduce((a, [, j]) => a + j[k], 0);
  console.log(`by suite: ${r.map(([s, j]) => `${j.numPassedTests} ${s}`).join(", ")}`);
  console.log(`tests: ${n("numPassedTests")} passed, ${n("numFailedTests")} failed, ${n("numPendingTests")} skipped`);
' "$RESULTS"
