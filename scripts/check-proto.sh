#!/usr/bin/env bash
# Regenerates the protobuf Go code into a temporary directory and fails if it
# differs from the committed code. Needs protoc (Debian: protobuf-compiler);
# protoc-gen-go is the go.mod tool.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "check-proto: protoc not found (apt-get install protobuf-compiler)"; exit 1; }
plugin=$(go tool -n protoc-gen-go)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

protos=$(git ls-files 'proto/*.proto')
protoc --plugin=protoc-gen-go="$plugin" -I . --go_out="$tmp" --go_opt=paths=source_relative $protos

status=0
for p in $protos; do
  gen=${p%.proto}.pb.go
  if ! diff -u "$gen" "$tmp/$gen"; then
    echo "check-proto: $gen is stale: run go generate ./proto/..."
    status=1
  fi
done
# Generated files without a .proto are stale too.
for gen in $(git ls-files 'proto/*.pb.go'); do
  [ -f "$tmp/$gen" ] || { echo "check-proto: $gen has no .proto"; status=1; }
done
[ $status -eq 0 ] && echo "check-proto: generated code is up to date"
exit $status
