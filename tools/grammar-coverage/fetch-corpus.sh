#!/bin/sh
# Fetches the grammar-coverage corpus: PostgreSQL's regression SQL as
# libpg_query carries it (test/sql/postgres_regress/*.sql), into a cache
# directory that is never committed.
#
#   tools/grammar-coverage/fetch-corpus.sh            # clone from GitHub
#   LIBPG_QUERY_REPO=/path/to/libpg_query tools/grammar-coverage/fetch-corpus.sh
#
# Environment:
#   LIBPG_QUERY_REPO    an existing libpg_query git repository (bare or not) to
#                       read from instead of cloning
#   LIBPG_QUERY_REF     branch, tag or commit (default 16-latest: PostgreSQL 16,
#                       the grammar of pg_query 5)
#   GRAMMAR_CORPUS_DIR  where to put it (default target/grammar-corpus in the
#                       repository root); the files land in
#                       $GRAMMAR_CORPUS_DIR/postgres_regress, and
#                       $GRAMMAR_CORPUS_DIR/SOURCE names the commit
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ref=${LIBPG_QUERY_REF:-16-latest}
dest=${GRAMMAR_CORPUS_DIR:-$root/target/grammar-corpus}
url=https://github.com/pganalyze/libpg_query.git
path=test/sql/postgres_regress

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${LIBPG_QUERY_REPO:-}" ]; then
    repo=$LIBPG_QUERY_REPO
    origin=$repo
else
    echo "cloning $url ($ref)" >&2
    git clone --quiet --bare --depth 1 --branch "$ref" --filter=blob:none "$url" "$tmp/repo.git"
    repo=$tmp/repo.git
    origin=$url
fi

commit=$(git -C "$repo" rev-parse --verify "$ref^{commit}")
mkdir -p "$tmp/out"
git -C "$repo" archive --format=tar "$commit" "$path" | tar -x -C "$tmp/out"
# A pipeline's status is tar's: count the files against the tree instead.
expected=$(git -C "$repo" ls-tree --name-only "$commit" "$path/" | grep -c '\.sql$' || true)
count=$(find "$tmp/out/$path" -name '*.sql' 2>/dev/null | wc -l)
if [ "$expected" -eq 0 ] || [ "$count" -ne "$expected" ]; then
    echo "expected $expected $path/*.sql at $ref in $origin, extracted $count" >&2
    exit 1
fi

mkdir -p "$dest"
rm -rf "$dest/postgres_regress"
mv "$tmp/out/$path" "$dest/postgres_regress"
printf 'libpg_query %s %s (%s)\n' "$ref" "$commit" "$origin" > "$dest/SOURCE"
echo "$count files in $dest/postgres_regress ($ref, $commit)" >&2
