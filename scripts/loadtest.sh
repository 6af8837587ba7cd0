#!/usr/bin/env bash
# Login and refresh throughput over loopback HTTP, with the server's own CPU
# time per request read from /proc (so the client's signing is not counted).
#
#   scripts/loadtest.sh [N] [CONCURRENCY]
#   CHUSME_DATABASE=postgres://… scripts/loadtest.sh   # the same on PostgreSQL (an empty database)
#
# Builds chusmed and chusme into a temporary directory, starts chusmed on a
# free loopback port with rate limits off and a throw-away SQLite data
# directory, registers an administrator, runs `chusme load login` and
# `chusme load refresh`, and prints the figures. Everything stops by itself.
set -euo pipefail
N=${1:-5000}
C=${2:-8}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/chusmed" ./cmd/chusmed
go build -o "$work/chusme" ./cmd/chusme

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/chusmed" --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn --database "${CHUSME_DATABASE:-}" \
  --rate-ip 0 --rate-auth 0 --rate-identity 0 2>"$work/server.log" &
srv=$!
for _ in $(seq 100); do
  [ -s "$work/data/setup-token" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.05
done

export CHUSME_SERVER="http://127.0.0.1:$port" CHUSME_CONFIG_DIR="$work/cli" CHUSME_PASSPHRASE=load
"$work/chusme" keygen >/dev/null 2>&1
"$work/chusme" setup --token-file "$work/data/setup-token" >/dev/null

cpu() { awk '{print $14 + $15}' "/proc/$srv/stat"; }   # utime + stime, clock ticks
hz=$(getconf CLK_TCK)
for scenario in login refresh; do
  before=$(cpu)
  out=$("$work/chusme" load "$scenario" --n "$N" --concurrency "$C" --json)
  after=$(cpu)
  python3 - "$scenario" "$before" "$after" "$hz" "$out" <<'PY'
import json, sys
scenario, before, after, hz, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
cpu = (after - before) / hz
n = out["requests"]
print(f"{scenario:8s} {n} ok, {out['errors']} errors in {out['seconds']:.2f} s: {out['per_second']:.0f}/s "
      f"(p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms); server CPU {cpu:.2f} s = {cpu / max(n, 1) * 1e6:.0f} µs per {scenario}")
PY
done
