#!/usr/bin/env bash
# The official MariaDB image's contract, for Debian's mariadb-server: an empty data directory gets the
# database and user of MARIADB_DATABASE/USER/PASSWORD, then /docker-entrypoint-initdb.d (*.sql loaded
# into the database, *.sh sourced with docker_process_sql); then the server runs with the given options.
# Root (compose) or the mysql user itself (Kubernetes, uid 999).
set -euo pipefail
user=()
[ "$(id -u)" = 0 ] && user=(--user=mysql)
if [ ! -d /var/lib/mysql/mysql ]; then
  # root by password, as the official image (as another OS user, the socket authentication would refuse it)
  mariadb-install-db "${user[@]}" --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal >/dev/null
  mariadbd "${user[@]}" --skip-networking --socket=/run/mysqld/init.sock &
  pid=$!
  for _ in $(seq 60); do mariadb-admin --socket=/run/mysqld/init.sock ping >/dev/null 2>&1 && break; sleep 0.5; done
  docker_process_sql() { mariadb --socket=/run/mysqld/init.sock -uroot "$@"; }
  docker_process_sql <<SQL
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';
GRANT ALL ON \`${MARIADB_DATABASE}\`.* TO '${MARIADB_USER}'@'%';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';
SQL
  docker_process_sql() { mariadb --socket=/run/mysqld/init.sock -uroot -p"${MARIADB_ROOT_PASSWORD}" "$@"; }
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) docker_process_sql "$MARIADB_DATABASE" <"$f" ;;
      *.sh) . "$f" ;;
    esac
  done
  kill "$pid" && wait "$pid" || true
fi
exec mariadbd "${user[@]}" --bind-address=0.0.0.0 "$@"
