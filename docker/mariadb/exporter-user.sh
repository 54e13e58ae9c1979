# shellcheck shell=bash
# Sourced once, at the first start of an empty data volume, by the MariaDB image's entrypoint (from
# docker-entrypoint-initdb.d; not executable on purpose: only a sourced script has docker_process_sql):
# the mysqld exporter's own user, which reads server status and nothing of the platform's data.
docker_process_sql --database=mysql <<SQL
CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY '${MARIADB_EXPORTER_PASSWORD}' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'exporter'@'%';
SQL
