#!/usr/bin/env bash
# The official image's probe (healthcheck.sh --connect [--innodb_initialized]), for Debian's server: it
# answers on TCP. It answers only once InnoDB is up, so both checks are the same one here.
exec mariadb-admin --protocol=tcp -h127.0.0.1 --connect-timeout=3 ping >/dev/null
