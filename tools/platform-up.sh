#!/usr/bin/env bash
# Brings the whole platform up on this machine and runs one real execution through the REST API:
# the local stack (tools/stack-up.sh installs what is missing), the build, then the control plane, one
# runtime agent and the reaper as background processes (pid files and logs under .stack/). Rerunning restarts the
# two apps on the fresh build. tools/platform-down.sh stops everything this started.
source "$(dirname "$0")/lib.sh"
require_root
cd "$ROOT_DIR"
t0=$SECONDS

bash tools/stack-up.sh
bash tools/build.sh
log "build ready ($((SECONDS - t0))s since start)"

set -a
# shellcheck disable=SC1091
source "$STACK_DIR/env"
set +a
export HOST=127.0.0.1 PORT="$API_PORT" LOG_LEVEL="${LOG_LEVEL:-info}" NODE_ENV=production
# this machine's own secret for signing result webhooks, made once
[ -s "$STACK_DIR/webhook-secret" ] || head -c 32 /dev/urandom | base64 >"$STACK_DIR/webhook-secret"
WEBHOOK_SECRET=$(cat "$STACK_DIR/webhook-secret")
export WEBHOOK_SECRET

# start_app NAME MAIN: (re)start one app detached from this shell, with its pid file and log.
start_app() {
  local name=$1 main=$2
  stop_pidfile "$name" "$STACK_DIR/$name.pid" 30
  setsid node "$main" >>"$STACK_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$STACK_DIR/$name.pid"
}
start_app runtime-agent dist/apps/runtime-agent/src/main.js
start_app reaper dist/apps/reaper/src/main.js
start_app control-plane dist/apps/control-plane/src/main.js

API="http://127.0.0.1:$API_PORT"
app_up() { pid_alive "$STACK_DIR/$1.pid" || { tail -n 20 "$STACK_DIR/$1.log" >&2; die "$1 exited, see $STACK_DIR/$1.log"; }; }
ready() { app_up control-plane && app_up runtime-agent && app_up reaper && curl -fsS "$API/ready" >/dev/null && agent_online; }
agent_online() {
  [ "$(mdb_root -N -e "SELECT COUNT(*) FROM \`$DB_NAME\`.runtime_nodes WHERE status = 'online' AND last_heartbeat_at > NOW() - INTERVAL 10 SECOND")" -gt 0 ]
}
wait_for "the control plane and the runtime agent" 60 ready
log "control plane on $API (OpenAPI at $API/docs), runtime agent online ($((SECONDS - t0))s since start)"

# the local stack's admin key: kept in .stack/dev-api-key while it stays valid
SANDBOX_API_KEY=$(node dist/tools/api-keys.js dev "$STACK_DIR/dev-api-key")
export SANDBOX_API_KEY
log "development API key (admin scope, tenant 'dev'; also in $STACK_DIR/dev-api-key): $SANDBOX_API_KEY"

node tools/demo.mjs "$API"
log "platform up in $((SECONDS - t0))s. Logs: $STACK_DIR/{control-plane,runtime-agent,reaper}.log. Stop it all: npm stop"
