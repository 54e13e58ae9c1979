#!/usr/bin/env bash
# Stops exactly what tools/stack-up.sh started, by its pid files under .stack/. Data is kept;
# `rm -rf .stack` after this forgets it.
source "$(dirname "$0")/lib.sh"
stop_pidfile s3rver "$STACK_DIR/s3rver.pid"
stop_pidfile redis "$STACK_DIR/redis.pid"
stop_pidfile mariadb "$STACK_DIR/mariadb.pid" 60
stop_pidfile dockerd "$STACK_DIR/dockerd.pid" 30
