#!/usr/bin/env bash
# Starts (or stops) a throw-away PostgreSQL cluster for the tests of
# internal/postgres: a fresh data directory in a temporary directory, listening
# on 127.0.0.1 on a free port only, trust authentication, durability off (it
# is thrown away). It installs nothing: it needs Debian's postgresql package
# (apt-get install -y postgresql) and says so if the binaries are missing.
#
#   eval "$(scripts/pg-test-cluster.sh)"     # start; prints export CHUSME_TEST_POSTGRES=…
#   go test -race ./internal/postgres/
#   scripts/pg-test-cluster.sh stop           # stop it and delete its directory
#
# Only the export line goes to stdout; progress goes to stderr. Running it
# again while a cluster is up prints the same line. The state (the cluster's
# directory) is kept in $CHUSME_PG_STATE, by default
# ${TMPDIR:-/tmp}/chusme-pg-test.state. PostgreSQL refuses to run as root: as
# root the cluster runs as the postgres user.
set -euo pipefail

state=${CHUSME_PG_STATE:-${TMPDIR:-/tmp}/chusme-pg-test.state}
db=chusme_test

log() { echo "pg-test-cluster: $*" >&2; }

# bindir finds the PostgreSQL server binaries: pg_config's, or the newest
# /usr/lib/postgresql/*/bin.
bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir)
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
    return
  fi
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  log "PostgreSQL server binaries (initdb, pg_ctl) not found; install them with:"
  log "  sudo apt-get update && sudo apt-get install -y postgresql"
  exit 1
}

# as runs a command as the cluster's owner: postgres when we are root.
as() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

url() { echo "postgres://postgres@127.0.0.1:$1/$db?sslmode=disable"; }

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if [ -f "$state" ]; then
    read -r dir port <"$state" || true
    if [ -n "${dir:-}" ] && [ -d "$dir/data" ] && as "$(bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      log "already running in $dir"
      echo "export CHUSME_TEST_POSTGRES='$(url "$port")'"
      return
    fi
    rm -f "$state"
  fi
  local bin dir port tries
  bin=$(bindir)
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    log "running as root, but there is no postgres user to run the cluster as"
    exit 1
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/chusme-pg.XXXXXX")
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  log "initdb in $dir ($bin)"
  as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 -o "-p $port" start >&2; then
      echo "$dir $port" >"$state"
      as "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
      log "running on 127.0.0.1:$port; stop with: $0 stop"
      echo "export CHUSME_TEST_POSTGRES='$(url "$port")'"
      return
    fi
    log "start on port $port failed (try $tries)"
  done
  tail -n 20 "$dir/postgres.log" >&2 || true
  exit 1
}

stop() {
  if [ ! -f "$state" ]; then
    log "no cluster recorded in $state"
    return
  fi
  local dir port bin
  read -r dir port <"$state" || true
  bin=$(bindir)
  if [ -n "${dir:-}" ] && [ -d "$dir/data" ]; then
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  case "${dir:-}" in
  "${TMPDIR:-/tmp}"/chusme-pg.*) rm -rf "$dir" ;;
  esac
  rm -f "$state"
  log "stopped"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
  echo "usage: $0 [start|stop]" >&2
  exit 2
  ;;
esac
