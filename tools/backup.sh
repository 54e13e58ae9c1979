#!/usr/bin/env bash
# A backup of the database, Redis and the workspace store into a timestamped directory under
# BACKUP_DIR, with retention (BACKUP_KEEP, BACKUP_MAX_AGE_DAYS): tools/backup.ts,
# docs/runbooks/backup-restore.md. Settings from the environment; .stack/env when none are set.
source "$(dirname "$0")/lib.sh"
cd "$ROOT_DIR"
[ -n "${DATABASE_URL:-}" ] || { set -a; . .stack/env; set +a; }
[ -f dist/tools/backup.js ] || bash tools/build.sh >/dev/null
exec node dist/tools/backup.js "$@"
