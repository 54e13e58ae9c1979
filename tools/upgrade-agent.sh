#!/usr/bin/env bash
# Rolling upgrade of one runtime agent with work in flight, with automatic rollback (seed 004 §7.1–7.2):
#   1. drain the node through the API: it takes no new sessions, its running executions finish, its
#      sessions move to other nodes, then the agent exits 0 by itself
#   2. once it has exited, point its release link at the new build and start it (same NODE_ID)
#   3. health check: the node is back online with a fresh heartbeat and a new start time within
#      READY_WAIT_SECONDS, its process still runs, its /metrics answers (when AGENT_METRICS_URL is set)
#   4. a failed check rolls back: the new build is stopped, the link points at the previous build
#      again, that one is started and checked; the script exits 1 (2 when even the rollback fails)
# A drain that does not end within DRAIN_WAIT_SECONDS is called off (undrain): the node keeps its build.
# Upgrade the fleet one node at a time; the other nodes take the moved sessions meanwhile.
#
# Usage: tools/upgrade-agent.sh NODE_ID NEW_BUILD
#   NEW_BUILD   the new release: a build directory holding apps/runtime-agent/src/main.js
# Environment (docs/runbooks/upgrade.md):
#   SANDBOX_API, SANDBOX_API_KEY   the control plane (or its load balancer) and an admin key
#   AGENT_RELEASE                  the symlink this node's agent runs from (see tools/release-lib.sh)
#   AGENT_UNIT | AGENT_START + AGENT_PID_FILE   how the agent process is started and stopped
#   AGENT_METRICS_URL              optional: the agent's metrics endpoint, must answer 200
#   DRAIN_WAIT_SECONDS (600), READY_WAIT_SECONDS (60)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release-lib.sh"

[ $# = 2 ] || die "usage: $0 NODE_ID NEW_BUILD"
NODE=$1
NEW=$(readlink -f "$2")
: "${SANDBOX_API:?the control plane URL}" "${SANDBOX_API_KEY:?an admin API key}"
DRAIN_WAIT_SECONDS=${DRAIN_WAIT_SECONDS:-600}
READY_WAIT_SECONDS=${READY_WAIT_SECONDS:-60}
svc_check AGENT runtime-agent
[ -f "$NEW/apps/runtime-agent/src/main.js" ] || die "$NEW holds no build of the runtime agent (apps/runtime-agent/src/main.js)"

# api METHOD PATH: the response body; fails on anything but 2xx (curl retries refused connections and 503s).
api() {
  curl -fsS --retry 5 --retry-connrefused --retry-delay 1 -X "$1" -H "authorization: Bearer $SANDBOX_API_KEY" "$SANDBOX_API$2"
}
# node_field FIELD: one field of GET /v1/nodes/NODE.
node_field() { api GET "/v1/nodes/$NODE" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

# healthy STARTED_AT: the process runs (else 2: no use waiting), and the node is online, not stale,
# registered again since STARTED_AT.
healthy() {
  svc_running AGENT || return 2
  local n
  n=$(api GET "/v1/nodes/$NODE") || return 1
  node -e 'const n=JSON.parse(process.argv[1]);process.exit(n.status==="online"&&!n.stale&&n.started_at!==process.argv[2]?0:1)' "$n" "$1" || return 1
  [ -z "${AGENT_METRICS_URL:-}" ] || curl -fsS -o /dev/null -H "authorization: Bearer $SANDBOX_API_KEY" "$AGENT_METRICS_URL"
}

agent_gone() { ! svc_running AGENT; }

# deploy BUILD: runs BUILD and checks it; true when healthy within the bound. A registration newer
# than the one before the start proves that this process, not an earlier one, is online.
deploy() {
  local before
  before=$(node_field started_at) || return 1
  svc_point AGENT "$1"
  svc_start AGENT || return 1
  poll "$READY_WAIT_SECONDS" healthy "$before"
}

status=$(node_field status) || die "node $NODE is unknown to $SANDBOX_API"
[ "$status" = online ] || die "node $NODE is $status: only an online node is upgraded"
svc_running AGENT || die "the agent of $NODE does not run here"
PREVIOUS=$(svc_build AGENT)
[ "$PREVIOUS" != "$NEW" ] || die "$NODE runs $NEW already"
t0=$SECONDS

log "$NODE: draining (running executions finish, sessions move to other nodes)"
api POST "/v1/nodes/$NODE/drain" >/dev/null
if ! poll "$DRAIN_WAIT_SECONDS" agent_gone; then
  api POST "/v1/nodes/$NODE/undrain" >/dev/null || true
  die "$NODE did not finish its drain within ${DRAIN_WAIT_SECONDS}s: drain called off, it keeps $PREVIOUS"
fi
log "$NODE: drained and stopped after $((SECONDS - t0))s; starting $NEW"

if deploy "$NEW"; then
  log "$NODE: upgraded to $NEW (version $(node_field version)), online $((SECONDS - t0))s after the drain began"
  exit 0
fi

log "$NODE: the new build failed its health check within ${READY_WAIT_SECONDS}s: rolling back to $PREVIOUS"
svc_stop AGENT 30
if deploy "$PREVIOUS"; then
  log "$NODE: rolled back, serving on $PREVIOUS again"
  exit 1
fi
log "ERROR: $NODE: the rollback to $PREVIOUS failed its health check too: the node is down"
exit 2
