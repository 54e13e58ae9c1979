#!/usr/bin/env bash
# Brings up what the platform depends on, on this machine, as plain processes bound to loopback:
# MariaDB (a new database from init.sql, an existing one migrated), Redis (AOF, noeviction), an
# S3-compatible server (s3rver, from npm), the Docker engine, and the sandbox images.
# Idempotent: what already runs is reused, what is missing is installed and started. Every process it
# starts has its pid file and data under .stack/; tools/stack-down.sh stops exactly those.
# Writes .stack/env with the settings the apps and tests read.
source "$(dirname "$0")/lib.sh"
require_root
mkdir -p "$STACK_DIR"

ensure_packages mariadb-server mariadb-client redis-server docker.io tini debootstrap iptables zstd ca-certificates curl
ensure_node_modules

# --- Docker engine: use a daemon that answers, else start one and own it ---------------------------
if docker info >/dev/null 2>&1; then
  pid_alive "$STACK_DIR/dockerd.pid" && log "dockerd: running (ours, pid $(cat "$STACK_DIR/dockerd.pid"))" \
    || log "dockerd: a daemon already answers (not started by this script, left alone)"
else
  log "dockerd: starting"
  setsid dockerd --pidfile "$STACK_DIR/dockerd.pid" >"$STACK_DIR/dockerd.log" 2>&1 < /dev/null &
  wait_for dockerd 60 docker info
  log "dockerd: started (pid $(cat "$STACK_DIR/dockerd.pid"), log $STACK_DIR/dockerd.log)"
fi

# --- Redis: AOF every second and noeviction, the only settings under which BullMQ keeps its promises --
if pid_alive "$STACK_DIR/redis.pid"; then
  log "redis: running (pid $(cat "$STACK_DIR/redis.pid"))"
else
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 \
    && die "port $REDIS_PORT answers Redis but not ours: stop it or set REDIS_PORT"
  mkdir -p "$STACK_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$STACK_DIR/redis" \
    --appendonly yes --appendfsync everysec --save "" --maxmemory-policy noeviction \
    --pidfile "$STACK_DIR/redis.pid" --logfile "$STACK_DIR/redis.log"
  wait_for redis 10 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping
  log "redis: started on 127.0.0.1:$REDIS_PORT (pid $(cat "$STACK_DIR/redis.pid"), data $STACK_DIR/redis)"
fi

# --- MariaDB: own datadir and socket; root only over the socket, the app user with a password -------
if pid_alive "$STACK_DIR/mariadb.pid"; then
  log "mariadb: running (pid $(cat "$STACK_DIR/mariadb.pid"))"
else
  (exec 3<>"/dev/tcp/127.0.0.1/$MARIADB_PORT") 2>/dev/null && die "port $MARIADB_PORT is taken by another server: stop it or set MARIADB_PORT"
  if [ ! -d "$STACK_DIR/mariadb/mysql" ]; then
    log "mariadb: initialising $STACK_DIR/mariadb"
    mariadb-install-db --no-defaults --datadir="$STACK_DIR/mariadb" --user=root \
      --auth-root-authentication-method=socket --skip-test-db >"$STACK_DIR/mariadb-install.log" 2>&1 \
      || die "mariadb-install-db failed, see $STACK_DIR/mariadb-install.log"
  fi
  # --user=root: the state folder may sit under a directory the mysql user cannot traverse.
  setsid mariadbd --no-defaults --user=root --datadir="$STACK_DIR/mariadb" --socket="$MDB_SOCK" \
    --bind-address=127.0.0.1 --port="$MARIADB_PORT" --pid-file="$STACK_DIR/mariadb.pid" \
    --log-error="$STACK_DIR/mariadb.log" --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --skip-name-resolve --default-time-zone=+00:00 --max-connections=500 --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=2 </dev/null >/dev/null 2>&1 &
  wait_for mariadb 60 mariadb-admin --no-defaults --socket="$MDB_SOCK" -uroot ping
  wait_for "mariadb pid file" 10 test -s "$STACK_DIR/mariadb.pid"
  log "mariadb: started on 127.0.0.1:$MARIADB_PORT (pid $(cat "$STACK_DIR/mariadb.pid"), data $STACK_DIR/mariadb)"
fi
mdb_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
-- ALL on *.*: the test suites create and drop their own databases next to the app's.
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
SQL
# A new database is made from init.sql (which records it as migrated); one that has tables is brought
# to this checkout's schema by its migrations, never dropped (docs/architecture.md, "Schema and migrations").
DATABASE_URL="mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$MARIADB_PORT/$DB_NAME"
if [ "$(mdb_root -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB_NAME'")" = 0 ]; then
  sed -e "s/^CREATE DATABASE IF NOT EXISTS sandbox /CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` /" \
      -e "s/^USE sandbox;/USE \`$DB_NAME\`;/" "$ROOT_DIR/init.sql" | mdb_root || die "loading init.sql failed"
  log "mariadb: database '$DB_NAME' made from init.sql (user '$DB_USER')"
else
  bash "$ROOT_DIR/tools/build.sh"
  log "mariadb: database '$DB_NAME' exists: migrating it"
  DATABASE_URL=$DATABASE_URL node "$ROOT_DIR/dist/tools/migrate.js" >&2 \
    || die "migrating database '$DB_NAME' failed (see above); nothing was dropped, and a migration is safe to run again"
fi
# left by earlier versions of this script, when a changed init.sql meant a new database
rm -f "$STACK_DIR/init.sql.sha256"

# --- S3: s3rver (npm) with its bucket, access keys checked ------------------------------------------
if pid_alive "$STACK_DIR/s3rver.pid"; then
  log "s3rver: running (pid $(cat "$STACK_DIR/s3rver.pid"))"
else
  curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/" && die "port $S3_PORT is taken by another server: stop it or set S3_PORT"
  mkdir -p "$STACK_DIR/s3"
  # s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider
  setsid node --openssl-legacy-provider "$ROOT_DIR/node_modules/s3rver/bin/s3rver.js" --directory "$STACK_DIR/s3" --address 127.0.0.1 --port "$S3_PORT" \
    --configure-bucket "$S3_BUCKET" --silent >"$STACK_DIR/s3rver.log" 2>&1 </dev/null &
  echo $! >"$STACK_DIR/s3rver.pid"
  wait_for s3rver 30 curl -s -o /dev/null "http://127.0.0.1:$S3_PORT/"
  log "s3rver: started on 127.0.0.1:$S3_PORT (pid $(cat "$STACK_DIR/s3rver.pid"), bucket '$S3_BUCKET', data $STACK_DIR/s3)"
fi

# --- Sandbox images ----------------------------------------------------------------------------------
bash "$ROOT_DIR/tools/images-build.sh"

cat >"$STACK_DIR/env" <<ENV
DATABASE_URL=$DATABASE_URL
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
MARIADB_ROOT_SOCKET=$MDB_SOCK
STORAGE_DRIVER=s3
S3_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_BUCKET=$S3_BUCKET
S3_ACCESS_KEY_ID=$S3_KEY
S3_SECRET_ACCESS_KEY=$S3_KEY
ENV
log "ready: MariaDB 127.0.0.1:$MARIADB_PORT, Redis 127.0.0.1:$REDIS_PORT, S3 http://127.0.0.1:$S3_PORT, Docker $(docker version -f '{{.Server.Version}}'); settings in $STACK_DIR/env"
