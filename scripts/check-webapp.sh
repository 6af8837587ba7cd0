#!/usr/bin/env bash
# Rebuilds the web app's generated files (the gzipped WebAssembly build of
# cmd/chusme-wasm and Go's wasm_exec.js) into a temporary directory and
# fails if they differ from the committed ones in internal/webapp/static.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd internal/webapp && go run ./gen -out "$tmp")

status=0
for f in chusme.wasm.gz wasm_exec.js; do
  if ! cmp -s "internal/webapp/static/$f" "$tmp/$f"; then
    echo "check-webapp: internal/webapp/static/$f is stale: run go generate ./internal/webapp/"
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-webapp: generated files are up to date"
exit $status
