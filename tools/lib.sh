# Shared helpers of the tools/ scripts. Source it; it changes nothing by itself.
# Everything the local stack starts lives under one state folder ($STACK_DIR), with a pid file per
# process, so that stack-down.sh stops exactly what stack-up.sh started.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_DIR=${STACK_DIR:-"$ROOT_DIR/.stack"}
export DEBIAN_FRONTEND=noninteractive

MARIADB_PORT=${MARIADB_PORT:-3306}
REDIS_PORT=${REDIS_PORT:-6379}
S3_PORT=${S3_PORT:-4569}
S3_BUCKET=${S3_BUCKET:-sandbox}
# s3rver's fixed access key and secret (it refuses any other)
S3_KEY=S3RVER
API_PORT=${API_PORT:-8000}
DB_NAME=${DB_NAME:-sandbox}
DB_USER=${DB_USER:-sandbox}
DB_PASSWORD=${DB_PASSWORD:-sandbox-dev-password}

MDB_SOCK="$STACK_DIR/mariadb.sock"
# mdb_root ARGS...: the mariadb client as root over the stack's own socket.
mdb_root() { mariadb --no-defaults --socket="$MDB_SOCK" -uroot "$@"; }

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# as_root CMD...: the stack needs root for apt, dockerd and binding the daemons; say so instead of failing halfway.
require_root() { [ "$(id -u)" = 0 ] || die "run as root (apt-get, dockerd and the database daemons need it)"; }

# ensure_packages PKG...: install the Debian packages that are missing, in one apt transaction.
ensure_packages() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq || die "apt-get update failed: the Debian mirror must be reachable"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# ensure_node_modules: install the npm dependencies when they are missing or older than the lock file.
# `npm install`, not `npm ci`: this registry serves only this platform's optional binaries, so the lock
# file cannot list the others and `npm ci` would refuse it; with a lock in sync install changes nothing.
ensure_node_modules() {
  if [ ! -f "$ROOT_DIR/node_modules/.package-lock.json" ] || [ "$ROOT_DIR/package-lock.json" -nt "$ROOT_DIR/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    (cd "$ROOT_DIR" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed"
  fi
}

# build_go_tool WHAT DEST BUILT CMD...: runs CMD (a Go build, modules from the Go module proxy) in a
# scratch folder, shows its log's tail when it fails, and puts the file BUILT (relative to that folder)
# in DEST whole, replacing the cached one at once.
build_go_tool() {
  local what=$1 dest=$2 built=$3 work
  shift 3
  command -v go >/dev/null || die "Go is needed to build $what"
  work=$(mktemp -d)
  if ! (cd "$work" && CGO_ENABLED=0 "$@" >build.log 2>&1); then
    tail -30 "$work/build.log" >&2
    rm -rf "$work"
    die "$what: the build failed"
  fi
  mkdir -p "$(dirname "$dest")"
  install -m 0755 "$work/$built" "$dest.new" && mv "$dest.new" "$dest"
  rm -rf "$work"
}

# pid_alive FILE: true when FILE names a running process.
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for DESCRIPTION SECONDS CMD...: poll CMD every 0.1 s until it succeeds or the time is up.
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up within ${secs}s"
}

# stop_pidfile NAME FILE [SECONDS]: TERM the process of FILE, KILL it after the grace period, remove FILE.
stop_pidfile() {
  local name=$1 file=$2 grace=${3:-20} pid i
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored SIGTERM for ${grace}s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}
