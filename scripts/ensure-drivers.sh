#!/usr/bin/env bash
# Makes sure the client drivers tests/drivers.rs and tests/client_matrix.rs
# run through actgate are installed: for python3, psycopg 3 (with its binary
# build), asyncpg and SQLAlchemy from PyPI; for node, node-postgres (`pg`),
# pg-cursor, postgres.js and Kysely from npm, into tests/drivers/node_modules
# (git-ignored); a JDK, pgjdbc, Go and pgx v4 from Debian's packages (as root
# with apt-get). Installs only what is missing,
# so it is quick when everything is there. Fails saying what to install
# when python3, pip, node or npm themselves are missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() {
  echo "error: $*" >&2
  exit 1
}

command -v python3 >/dev/null 2>&1 ||
  fail "python3 is required for the driver tests (tests/drivers.rs); install Python 3 with pip (Debian: apt-get install python3 python3-pip)"
python3 -m pip --version >/dev/null 2>&1 ||
  fail "pip for python3 is required for the driver tests (tests/drivers.rs); install it (Debian: apt-get install python3-pip)"
command -v node >/dev/null 2>&1 ||
  fail "node is required for the driver tests (tests/drivers.rs); install Node.js with npm (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 ||
  fail "npm is required for the driver tests (tests/drivers.rs); install it (Debian: apt-get install npm)"

# Python: each module to import and the requirement that provides it.
missing=()
python3 -c 'import psycopg, psycopg_binary' >/dev/null 2>&1 || missing+=('psycopg[binary]>=3.1,<4')
python3 -c 'import asyncpg' >/dev/null 2>&1 || missing+=('asyncpg>=0.29')
python3 -c 'import sqlalchemy; assert int(sqlalchemy.__version__.split(".")[0]) >= 2' >/dev/null 2>&1 ||
  missing+=('sqlalchemy>=2,<3')
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Python drivers (pip): ${missing[*]}"
  pip_flags=(--quiet --disable-pip-version-check)
  pip_help=$(python3 -m pip install --help 2>/dev/null || true)
  # As root (CI), pip warns on every install; the install is what is wanted.
  if grep -q -- '--root-user-action' <<<"$pip_help"; then
    pip_flags+=(--root-user-action=ignore)
  fi
  # Debian's own python3 refuses system-wide installs (PEP 668) unless told.
  if grep -q -- '--break-system-packages' <<<"$pip_help"; then
    if compgen -G "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" >/dev/null; then
      pip_flags+=(--break-system-packages)
    fi
  fi
  python3 -m pip install "${pip_flags[@]}" "${missing[@]}"
  python3 -c 'import psycopg, psycopg_binary, asyncpg, sqlalchemy' ||
    fail "pip installed ${missing[*]} but python3 still cannot import them"
fi

# Node: node-postgres, pg-cursor, postgres.js and Kysely, local to
# tests/drivers (tests/drivers.rs, tests/client_matrix.rs). npm prunes
# packages it was not asked for, so all of them are installed together.
node_packages=(pg@8 pg-cursor@2 postgres@3 kysely@0.27)
if ! (cd tests/drivers && node -e "for (const m of ['pg', 'pg-cursor', 'postgres', 'kysely']) require(m)") >/dev/null 2>&1; then
  echo "==> installing Node drivers (npm install --prefix tests/drivers ${node_packages[*]})"
  npm install --prefix tests/drivers "${node_packages[@]}" --no-audit --no-fund --no-save --loglevel=error >/dev/null
  (cd tests/drivers && node -e "for (const m of ['pg', 'pg-cursor', 'postgres', 'kysely']) require(m)") ||
    fail "npm installed ${node_packages[*]} but node still cannot require them from tests/drivers"
fi

# Java and Go (tests/client_matrix.rs): a JDK with pgjdbc, and Go with pgx
# v4, all from Debian's packages (built offline, in GOPATH mode).
apt_missing=()
command -v javac >/dev/null 2>&1 || apt_missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || apt_missing+=(libpostgresql-jdbc-java)
command -v go >/dev/null 2>&1 || apt_missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/jackc/pgx/v4/pgxpool ] || apt_missing+=(golang-github-jackc-pgx-v4-dev)
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "the client matrix (tests/client_matrix.rs) needs ${apt_missing[*]} (Debian: apt-get install ${apt_missing[*]})"
  fi
  echo "==> installing ${apt_missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
  command -v javac >/dev/null 2>&1 && [ -f /usr/share/java/postgresql.jar ] &&
    command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/github.com/jackc/pgx/v4/pgxpool ] ||
    fail "apt-get installed ${apt_missing[*]} but javac, pgjdbc, go or pgx v4 is still missing"
fi
