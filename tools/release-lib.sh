# shellcheck shell=bash
# Helpers of the upgrade scripts (upgrade-agent.sh, upgrade-control-plane.sh). Source it after lib.sh.
#
# A service is deployed as releases: each build is a directory (a `dist/` of the repo: it holds
# apps/<app>/src/main.js), and the service runs the one a symlink points at (<PREFIX>_RELEASE, e.g.
# /opt/sandbox/agent/current). Upgrading repoints the link; rolling back points it where it was.
# How the process is started and stopped is the deployment's, given by environment with that prefix:
#   <PREFIX>_UNIT                     a systemd unit whose ExecStart runs <PREFIX>_RELEASE/apps/...
#   <PREFIX>_START + <PREFIX>_PID_FILE a shell command that starts the process in the background
#                                     (from <PREFIX>_RELEASE) and writes its pid to the pid file

# svc_var PREFIX NAME: the value of PREFIX_NAME ('' when unset).
svc_var() { local v="${1}_$2"; printf '%s' "${!v:-}"; }

# svc_check PREFIX APP: the settings are complete and the link names a build of APP.
svc_check() {
  local release
  release=$(svc_var "$1" RELEASE)
  [ -n "$release" ] || die "$1_RELEASE is not set: the symlink naming the build the service runs"
  [ -L "$release" ] || die "$1_RELEASE ($release) is not a symlink"
  [ -f "$release/apps/$2/src/main.js" ] || die "$release holds no build of $2 (apps/$2/src/main.js)"
  if [ -z "$(svc_var "$1" UNIT)" ]; then
    [ -n "$(svc_var "$1" START)" ] && [ -n "$(svc_var "$1" PID_FILE)" ] || die "set $1_UNIT (systemd) or both $1_START and $1_PID_FILE"
  fi
}

# svc_build PREFIX: the build directory the link names now.
svc_build() { readlink -f "$(svc_var "$1" RELEASE)"; }

# svc_point PREFIX DIR: repoints the link at DIR, atomically (rename over the old link).
svc_point() {
  local release
  release=$(svc_var "$1" RELEASE)
  ln -sfn "$2" "$release.next"
  mv -T "$release.next" "$release"
}

# pid_running PID: the process exists and is not a zombie (an exited child nobody has reaped yet).
pid_running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }

# svc_running PREFIX: the service's process runs.
svc_running() {
  local unit file
  unit=$(svc_var "$1" UNIT)
  if [ -n "$unit" ]; then systemctl is-active --quiet "$unit"; return; fi
  file=$(svc_var "$1" PID_FILE)
  [ -s "$file" ] && pid_running "$(cat "$file")"
}

# svc_start PREFIX: starts the service (from whatever the link names now).
svc_start() {
  local unit
  unit=$(svc_var "$1" UNIT)
  if [ -n "$unit" ]; then systemctl start "$unit"; else bash -c "$(svc_var "$1" START)"; fi
}

# svc_stop PREFIX SECONDS: SIGTERM (its graceful shutdown), SIGKILL after SECONDS; waits for the exit.
svc_stop() {
  local unit file pid i
  unit=$(svc_var "$1" UNIT)
  if [ -n "$unit" ]; then systemctl stop "$unit"; return; fi
  file=$(svc_var "$1" PID_FILE)
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  pid_running "$pid" && kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2 * 10; i++)); do pid_running "$pid" || return 0; sleep 0.1; done
  log "pid $pid ignored SIGTERM for $2s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# poll SECONDS CMD...: runs CMD every 0.5 s until it succeeds (0) or SECONDS pass (1); CMD exiting 2
# means it cannot succeed any more (the process died): poll gives up at once.
poll() {
  local until=$((SECONDS + $1)) rc; shift
  for ((;;)); do
    rc=0
    "$@" || rc=$?
    ((rc != 0)) || return 0
    ((rc != 2 && SECONDS < until)) || return 1
    sleep 0.5
  done
}
