#!/usr/bin/env bash
# Makes the secrets docker-compose.yml expects, once, with openssl:
#
#   deploy/secrets/postgres.env   POSTGRES_PASSWORD, ACTGATE_UPSTREAM_PASSWORD
#                                 (the postgres service; deploy/initdb/00-role.sql
#                                 gives actgate_gateway the second)
#   deploy/secrets/actgate.env    ACTGATE_UPSTREAM_PASSWORD (actgate, policy-tests)
#   deploy/secrets/actgate.key    Ed25519 key that signs agent tokens: keep it
#                                 off the gateway; mint with
#                                 `actgate token mint --key deploy/secrets/actgate.key ...`
#   deploy/secrets/gateway/       mounted read-only at /etc/actgate/secrets:
#     actgate.pub                 verifies agent tokens ([tokens] public_keys)
#     admin-token                 bearer token of the admin endpoint
#     tls.crt, tls.key            self-signed certificate for agents' TLS
#     revoked.txt                 revoked token ids (`actgate token revoke`)
#
# Usage: bash deploy/init-secrets.sh [DIR]   (DIR defaults to deploy/secrets)
# Refuses to overwrite an existing DIR. Files in gateway/ are world-readable
# so that the container's unprivileged user can read them through the bind
# mount; DIR itself is private to you.
set -euo pipefail

dir=${1:-"$(dirname "${BASH_SOURCE[0]}")/secrets"}
command -v openssl >/dev/null 2>&1 || {
  echo "error: openssl is required (Debian: apt-get install openssl)" >&2
  exit 1
}
if [ -e "$dir" ]; then
  echo "error: $dir already exists; remove it to make new secrets" >&2
  exit 1
fi

umask 077
mkdir -p "$dir/gateway"
chmod 700 "$dir"
chmod 755 "$dir/gateway"

upstream=$(openssl rand -hex 24)
{
  echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)"
  echo "ACTGATE_UPSTREAM_PASSWORD=$upstream"
} >"$dir/postgres.env"
echo "ACTGATE_UPSTREAM_PASSWORD=$upstream" >"$dir/actgate.env"

# Token signing key (PKCS#8 PEM) and its public key (SPKI PEM), the formats
# `actgate keygen` writes.
openssl genpkey -algorithm ed25519 -out "$dir/actgate.key" 2>/dev/null
openssl pkey -in "$dir/actgate.key" -pubout -out "$dir/gateway/actgate.pub"

openssl rand -hex 32 >"$dir/gateway/admin-token"
: >"$dir/gateway/revoked.txt"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=actgate" -addext "subjectAltName=DNS:actgate,DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/gateway/tls.key" -out "$dir/gateway/tls.crt" 2>/dev/null

chmod 644 "$dir/gateway/"*
echo "wrote secrets to $dir"
