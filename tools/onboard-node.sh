#!/usr/bin/env bash
# Makes a fresh Debian 12 host a runtime node of the platform (seed 004), as root, from a checkout of
# this repository on that host:
#   tools/onboard-node.sh --env agent.env [--node-id ID] [--api URL --api-key-file FILE] [--dry-run]
#   tools/onboard-node.sh --release-only [--dry-run]    only step 3: a release for tools/upgrade-agent.sh
# Installs the Docker engine, iptables and the node exporter (Debian), builds the sandbox images on
# this host's engine, builds the agent into a release, /opt/sandbox-agent/releases/<version>/ (dist/
# and its production node_modules/), points /opt/sandbox-agent/current at its dist/, installs the settings
# (/etc/sandbox-agent/agent.env, checked against the agent's schema first) and the systemd unit
# (tools/systemd/sandbox-agent.service, checked by systemd-analyze), then starts the agent. The agent
# registers itself in runtime_nodes; with --api and an admin key the script waits until the API lists
# the node online. Rerunning it installs a new release and restarts the agent (a restart keeps its
# sandboxes: same NODE_ID). --dry-run prints every step and changes nothing (no root needed).
# Removing a host: docs/runbooks/node-onboarding.md.
source "$(dirname "$0")/lib.sh"

PREFIX=/opt/sandbox-agent
ETC=/etc/sandbox-agent
UNIT=/etc/systemd/system/sandbox-agent.service
NODE_MIN=20.19

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
ENV_FILE='' NODE_ID='' API='' API_KEY_FILE='' DRY=false RELEASE_ONLY=false
while (($#)); do
  case $1 in
    --env) ENV_FILE=${2:?}; shift 2 ;;
    --node-id) NODE_ID=${2:?}; shift 2 ;;
    --api) API=${2:?}; shift 2 ;;
    --api-key-file) API_KEY_FILE=${2:?}; shift 2 ;;
    --dry-run) DRY=true; shift ;;
    --release-only) RELEASE_ONLY=true; shift ;;
    *) usage ;;
  esac
done
if ! $RELEASE_ONLY; then
  [ -n "$ENV_FILE" ] || usage
  [ -r "$ENV_FILE" ] || die "cannot read $ENV_FILE (start from tools/systemd/agent.env.example)"
fi
[ -z "$API" ] || [ -r "$API_KEY_FILE" ] || die "--api needs --api-key-file with an admin API key"
[ -z "$NODE_ID" ] || [[ $NODE_ID =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "--node-id: letters, digits, '_', '.' and '-' only"

# run CMD...: the step, or only its printout in a dry run.
run() {
  if $DRY; then printf '+ %s\n' "$*"; else "$@"; fi
}
step() { log "── $* ──"; }

$DRY || require_root
[ -f /etc/debian_version ] || die "this script installs with apt on Debian 12"
# the agent runs on the host's node (the unit finds it in /usr/local/bin or /usr/bin)
command -v node >/dev/null || die "node >= $NODE_MIN is needed on this host to build and run the agent (e.g. the nodesource nodejs 20 package)"
node -e "const [a,b]=process.versions.node.split('.').map(Number),[x,y]='$NODE_MIN'.split('.').map(Number);process.exit(a>x||(a===x&&b>=y)?0:1)" \
  || die "node $(node --version) is too old: the agent needs >= $NODE_MIN"
RELEASE="$PREFIX/releases/$(git -C "$ROOT_DIR" rev-parse --short HEAD 2>/dev/null || echo build)-$(date -u +%Y%m%d%H%M%S)"

# make_release: build this checkout and install it as $RELEASE (dist/, package files, production node_modules/).
make_release() {
  run bash "$ROOT_DIR/tools/build.sh"
  # node_modules/. : the directory even where node_modules is a symlink; links inside stay links
  run mkdir -p "$RELEASE/node_modules"
  run cp -a "$ROOT_DIR/node_modules/." "$RELEASE/node_modules/"
  run cp -a "$ROOT_DIR/dist" "$ROOT_DIR/package.json" "$ROOT_DIR/package-lock.json" "$RELEASE/"
  # offline: removes the dev dependencies of the copy, fetches nothing
  run npm prune --prefix "$RELEASE" --omit=dev --offline --no-audit --no-fund --loglevel=error
  run chmod -R go-w,a+rX "$RELEASE"
}
if $RELEASE_ONLY; then
  make_release
  log "release ready: upgrade with tools/upgrade-agent.sh NODE_ID $RELEASE/dist (docs/runbooks/upgrade.md)"
  exit 0
fi

# the node id the agent will use: --node-id, else the env file's, else the hostname (the agent's default)
NODE_ID=${NODE_ID:-$(sed -n 's/^NODE_ID=//p' "$ENV_FILE" | tail -n1)}
NODE_ID=${NODE_ID:-$(hostname | tr -c 'A-Za-z0-9_.\n-' '-' | cut -c1-64)}
log "onboarding node '$NODE_ID': release $RELEASE$($DRY && echo ' (dry run: nothing is changed)')"

step "1. Debian packages: Docker engine, iptables, the node exporter, what the sandbox image build needs"
run ensure_packages docker.io iptables prometheus-node-exporter tini debootstrap zstd ca-certificates curl
run systemctl enable --now docker prometheus-node-exporter

step "2. sandbox images on this host's Docker engine"
run env STACK_DIR=/var/lib/sandbox-agent/build bash "$ROOT_DIR/tools/images-build.sh"

step "3. the agent release: the build with its production dependencies"
make_release

step "4. its user: no login, no home; the docker group comes from the unit"
id -u sandbox-agent >/dev/null 2>&1 \
  || run useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sandbox-agent

step "5. its settings: $ETC/agent.env (root only), checked against the agent's schema"
run install -D -m 0600 -o root -g root "$ENV_FILE" "$ETC/agent.env"
if [ -z "$(sed -n 's/^NODE_ID=//p' "$ENV_FILE")" ]; then run sh -c "echo 'NODE_ID=$NODE_ID' >> '$ETC/agent.env'"; fi
# a wrong setting fails here, with every bad key listed, not in a restart loop (util.parseEnv reads
# KEY=VALUE lines as systemd's EnvironmentFile does)
run node -e "const c = require('$RELEASE/dist/libs/config/src/index.js');
  c.loadConfig(c.agentConfigSchema, { NODE_ENV: 'production', ...require('node:util').parseEnv(require('node:fs').readFileSync('$ETC/agent.env', 'utf8')) })"

step "6. switch $PREFIX/current to the release's dist/ (one rename: the unit never sees half a switch)"
run ln -sfn "$RELEASE/dist" "$PREFIX/current.new"
run mv -T "$PREFIX/current.new" "$PREFIX/current"

step "7. the systemd unit: verified, enabled, (re)started"
run install -m 0644 "$ROOT_DIR/tools/systemd/sandbox-agent.service" "$UNIT"
run systemd-analyze verify "$UNIT"
run systemctl daemon-reload
run systemctl enable sandbox-agent
run systemctl restart sandbox-agent

step "8. registration: the agent writes its row in runtime_nodes at start and beats every HEARTBEAT_INTERVAL_MS"
node_online() { curl -fsS -H "authorization: Bearer $(cat "$API_KEY_FILE")" "$API/v1/nodes/$NODE_ID" | grep -q '"status":"online"'; }
if $DRY; then
  printf '+ wait until systemctl is-active sandbox-agent%s\n' "${API:+ and GET $API/v1/nodes/$NODE_ID says online}"
elif [ -n "$API" ]; then
  wait_for "node '$NODE_ID' online in $API/v1/nodes" 120 node_online
  log "node '$NODE_ID' is online and takes work"
else
  wait_for "the sandbox-agent unit" 60 systemctl is-active --quiet sandbox-agent
  log "sandbox-agent is running; check that GET /v1/nodes/$NODE_ID says online (journalctl -u sandbox-agent)"
fi

# Prometheus (docker/prometheus/targets/, read again on change): this node's agent and host
ADDR=$(hostname -f 2>/dev/null || hostname)
cat <<EOF
Add to Prometheus, docker/prometheus/targets/agent-$NODE_ID.yml:
- targets: ['$ADDR:$(sed -n 's/^METRICS_PORT=//p' "$ENV_FILE" | tail -n1 | grep . || echo 9464)']
  labels: { node: '$NODE_ID' }
and docker/prometheus/targets/node-$NODE_ID.yml:
- targets: ['$ADDR:9100']
  labels: { node: '$NODE_ID' }
EOF
