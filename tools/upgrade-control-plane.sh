#!/usr/bin/env bash
# Rolling upgrade of one control-plane replica behind HAProxy, with automatic rollback (seed 004 §7.1):
#   1. HAProxy stops sending it requests (`set server … state maint` on the admin socket); the requests
#      it is serving finish, up to DRAIN_WAIT_SECONDS (a ?wait=true long poll included)
#   2. SIGTERM: what still waits is answered at once (202, the client polls), the process exits
#   3. the release link points at the new build, the replica starts, and must answer its own /ready
#      (MariaDB and Redis reachable) within READY_WAIT_SECONDS; then HAProxy sends it requests again
#      and its health check (GET /ready) must see it UP
#   4. a failed check rolls back: the previous build is started and put back the same way; exit 1
#      (2 when even the rollback fails: the replica stays out of the load balancer)
# Clients see no failed request: while one replica is out, the others serve (the script refuses to
# take out the last one that is UP). Upgrade the replicas one after the other.
#
# Usage: tools/upgrade-control-plane.sh SERVER NEW_BUILD
#   SERVER      the replica's server name in the HAProxy backend
#   NEW_BUILD   the new release: a build directory holding apps/control-plane/src/main.js
# Environment (docs/runbooks/upgrade.md):
#   HAPROXY_SOCKET                 the admin socket (`stats socket … level admin` in haproxy.cfg)
#   HAPROXY_BACKEND                the backend of the control planes (default control_plane)
#   CP_URL                         the replica's own address, e.g. http://127.0.0.1:8001
#   CP_RELEASE                     the symlink the replica runs from (see tools/release-lib.sh)
#   CP_UNIT | CP_START + CP_PID_FILE   how the replica's process is started and stopped
#   DRAIN_WAIT_SECONDS (60), READY_WAIT_SECONDS (60)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/release-lib.sh"

[ $# = 2 ] || die "usage: $0 SERVER NEW_BUILD"
SERVER=$1
NEW=$(readlink -f "$2")
: "${HAPROXY_SOCKET:?the HAProxy admin socket}" "${CP_URL:?the replica URL}"
BACKEND=${HAPROXY_BACKEND:-control_plane}
DRAIN_WAIT_SECONDS=${DRAIN_WAIT_SECONDS:-60}
READY_WAIT_SECONDS=${READY_WAIT_SECONDS:-60}
svc_check CP control-plane
[ -f "$NEW/apps/control-plane/src/main.js" ] || die "$NEW holds no build of the control plane (apps/control-plane/src/main.js)"

# hap COMMAND: one command on HAProxy's admin socket; its answer on stdout.
hap() { echo "$*" | socat stdio "UNIX-CONNECT:$HAPROXY_SOCKET"; }
# server_stat FIELD [SERVER]: one column of `show stat` (the CSV's header names it) for a server of the backend.
server_stat() {
  hap "show stat" | awk -F, -v b="$BACKEND" -v s="${2:-$SERVER}" -v f="$1" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == b && $2 == s { print $col[f] }'
}
# set_state ready|maint: puts the replica in or out of rotation (HAProxy prints nothing on success).
set_state() {
  local out
  out=$(hap "set server $BACKEND/$SERVER state $1")
  [ -z "$out" ] || die "haproxy: $out"
}
others_up() {
  hap "show stat" | awk -F, -v b="$BACKEND" -v s="$SERVER" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == b && $2 != s && $2 != "BACKEND" && $(col["status"]) ~ /^UP/ { n++ }
    END { print n + 0 }'
}
idle() { [ "$(server_stat scur)" = 0 ]; }
# ready: the replica answers its own /ready (2 when its process is gone: no use waiting).
ready() {
  svc_running CP || return 2
  curl -fsS -o /dev/null --max-time 3 "$CP_URL/ready"
}
# in_rotation: HAProxy's checks see it fully UP ("UP 1/2" is a server whose last check failed).
in_rotation() { [ "$(server_stat status)" = UP ]; }

# deploy BUILD: runs BUILD, checks it, puts it back in rotation; true when all that worked in time.
deploy() {
  svc_point CP "$1"
  svc_start CP || return 1
  poll "$READY_WAIT_SECONDS" ready || return 1
  set_state ready
  poll "$READY_WAIT_SECONDS" in_rotation
}

[ -n "$(server_stat status)" ] || die "haproxy has no server $BACKEND/$SERVER"
(($(others_up) > 0)) || die "no other replica of $BACKEND is UP: taking $SERVER out would stop the API"
PREVIOUS=$(svc_build CP)
[ "$PREVIOUS" != "$NEW" ] || die "$SERVER runs $NEW already"
t0=$SECONDS

log "$SERVER: out of rotation; waiting for the requests it serves"
set_state maint
poll "$DRAIN_WAIT_SECONDS" idle || log "$SERVER: still serving $(server_stat scur) request(s) after ${DRAIN_WAIT_SECONDS}s: the shutdown answers them"
svc_stop CP 30
log "$SERVER: stopped after $((SECONDS - t0))s; starting $NEW"

if deploy "$NEW"; then
  log "$SERVER: upgraded to $NEW, back in rotation $((SECONDS - t0))s after it left"
  exit 0
fi

log "$SERVER: the new build failed its health check within ${READY_WAIT_SECONDS}s: rolling back to $PREVIOUS"
set_state maint
svc_stop CP 30
if deploy "$PREVIOUS"; then
  log "$SERVER: rolled back, serving on $PREVIOUS again"
  exit 1
fi
set_state maint
log "ERROR: $SERVER: the rollback to $PREVIOUS failed its health check too: it stays out of rotation"
exit 2
