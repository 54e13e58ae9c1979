#!/usr/bin/env bash
# Restores a backup of tools/backup.sh into an empty stack: tools/restore.sh [BACKUP_DIR/<name>]
# (the newest complete backup by default). tools/restore.ts, docs/runbooks/backup-restore.md.
# Settings from the environment; .stack/env when none are set.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
[ -n "${DATABASE_URL:-}" ] || { set -a; . .stack/env; set +a; }
[ -f dist/tools/restore.js ] || bash tools/build.sh >/dev/null
exec node dist/tools/restore.js "$@"
