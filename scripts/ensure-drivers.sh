#!/usr/bin/env bash
# Makes sure the client drivers the tests run through actgate are installed
# (tests/drivers.rs, tests/python_clients.rs, tests/client_matrix.rs): for
# python3, psycopg 3 (with its binary build), asyncpg, SQLAlchemy,
# psycopg2-binary, psycopg_pool, SQLAlchemy's asyncio support (greenlet),
# pandas, langchain-core, langchain-community and postgres-mcp from PyPI; for
# node, node-postgres (`pg`), pg-cursor, postgres.js and Kysely from npm,
# into tests/drivers/node_modules (git-ignored); a JDK, pgjdbc, Go and pgx v4
# from Debian's packages (as root with apt-get). Installs only what is missing,
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
# The client matrix (tests/python_clients.rs).
python3 -c 'import psycopg2' >/dev/null 2>&1 || missing+=('psycopg2-binary>=2.9,<3')
python3 -c 'import psycopg_pool' >/dev/null 2>&1 || missing+=('psycopg-pool>=3.2,<4')
python3 -c 'import greenlet' >/dev/null 2>&1 || missing+=('greenlet>=1')
python3 -c 'import pandas' >/dev/null 2>&1 || missing+=('pandas>=2')
python3 -c 'import langchain_core' >/dev/null 2>&1 || missing+=('langchain-core')
python3 -c 'import langchain_community.utilities' >/dev/null 2>&1 || missing+=('langchain-community>=0.3')
# postgres-mcp declares Python >= 3.12 (for typing.override alone, which
# tests/drivers/postgres_mcp_client.py takes from typing_extensions on
# 3.11) and pins pglast 7.2.0, which has no build for every Python: on
# older Pythons it goes in without its declared dependencies, which are
# installed next to it (mcp before 2, the pglast 7 series).
pg_mcp=()
import_pg_mcp='import typing, typing_extensions
typing.override = getattr(typing, "override", typing_extensions.override)
import postgres_mcp.sql'
if ! python3 -c "$import_pg_mcp" >/dev/null 2>&1; then
  if python3 -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    missing+=('postgres-mcp==0.3.0')
  else
    pg_mcp=('postgres-mcp==0.3.0')
    missing+=('mcp[cli]>=1.5,<2' 'pglast>=7.2,<8' 'instructor>=1.7.9' 'humanize>=4.8' 'attrs>=25.3'
      'psycopg-pool>=3.2.6' 'typing_extensions>=4.4')
  fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Python drivers (pip): ${missing[*]} ${pg_mcp[*]}"
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
  if [ "${#pg_mcp[@]}" -gt 0 ]; then
    python3 -m pip install "${pip_flags[@]}" --no-deps --ignore-requires-python "${pg_mcp[@]}"
  fi
  python3 -W ignore -c 'import psycopg, psycopg_binary, asyncpg, sqlalchemy, psycopg2, psycopg_pool, greenlet, pandas, langchain_core, langchain_community.utilities' &&
    python3 -c "$import_pg_mcp" ||
    fail "pip installed ${missing[*]} ${pg_mcp[*]} but python3 still cannot import them"
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
