#!/usr/bin/env bash
# Stops what tools/platform-up.sh started: the control plane, the reaper, the runtime agent (it drains
# and removes its warm containers), then the local stack. Data under .stack/ is kept.
source "$(dirname "$0")/lib.sh"
stop_pidfile control-plane "$STACK_DIR/control-plane.pid" 30
stop_pidfile reaper "$STACK_DIR/reaper.pid" 30
stop_pidfile runtime-agent "$STACK_DIR/runtime-agent.pid" 60
bash "$ROOT_DIR/tools/stack-down.sh"
