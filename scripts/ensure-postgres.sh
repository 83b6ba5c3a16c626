#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, postgres, pg_ctl) and the
# client programs the tests drive (psql, pgbench) are installed. On Debian,
# as root, installs them with apt-get; otherwise explains what is missing.
set -euo pipefail

have_server() {
  command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null 2>&1
}

have_clients() {
  command -v psql >/dev/null 2>&1 && command -v pgbench >/dev/null 2>&1 \
    && command -v openssl >/dev/null 2>&1
}

if have_server && have_clients; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries and psql/pgbench are required." >&2
  echo "Install them (Debian/Ubuntu: apt-get install postgresql postgresql-contrib postgresql-client)," >&2
  echo "or set ACTGATE_PG_BIN_DIR to the directory holding initdb." >&2
  exit 1
fi

echo "==> installing PostgreSQL (apt-get)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib postgresql-client openssl >/dev/null
have_server && have_clients || { echo "PostgreSQL install did not provide initdb/psql/pgbench" >&2; exit 1; }
