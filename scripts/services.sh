#!/usr/bin/env bash
# Starts the servers that the cluster tests and `persona serve --store postgres` use, on loopback, when they are not
# running; installs them with apt-get on a fresh machine. Idempotent: run it as often as you like.
#
#   scripts/services.sh            # every service the repo uses (today: PostgreSQL)
#   scripts/services.sh postgres   # only the named ones
#
# PostgreSQL: cluster 15/main on 127.0.0.1:5432, a role and database `persona` (password `persona`) that the tests
# and the README's examples use: Host=127.0.0.1;Username=persona;Password=persona;Database=persona
set -euo pipefail

services=("$@")
[ ${#services[@]} -gt 0 ] || services=(postgres)

install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "services: installing PostgreSQL"
    install postgresql
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
    pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
    # No systemd here: pg_ctlcluster starts the server directly.
    pg_ctlcluster "$version" main start
  fi
  for _ in $(seq 1 30); do
    su postgres -c "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 1
  done
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'persona'\"" | grep -q 1 ||
    su postgres -c "psql -qc \"CREATE ROLE persona LOGIN PASSWORD 'persona' CREATEDB\""
  su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'persona'\"" | grep -q 1 ||
    su postgres -c "createdb -O persona persona"
  echo "services: PostgreSQL $version on 127.0.0.1:5432 (database persona, role persona)"
}

for service in "${services[@]}"; do
  case "$service" in
    postgres) start_postgres ;;
    *) echo "services: unknown service '$service' (known: postgres)" >&2; exit 2 ;;
  esac
done
