#!/usr/bin/env bash
# Starts the servers that the cluster tests and `persona serve --store postgres` use, on loopback, when they are not
# running; installs them with apt-get on a fresh machine. Idempotent: run it as often as you like.
#
#   scripts/services.sh                   # every service the repo uses: PostgreSQL, RabbitMQ and Redis
#   scripts/services.sh postgres          # only the named ones
#
# PostgreSQL: cluster 15/main on 127.0.0.1:5432, a role and database `persona` (password `persona`) that the tests
# and the README's examples use: Host=127.0.0.1;Username=persona;Password=persona;Database=persona
# RabbitMQ: the broker on 127.0.0.1:5672 with a user `persona` (password `persona`): amqp://persona:persona@127.0.0.1:5672/
# Redis: 127.0.0.1:6379, no password; cluster membership of `persona serve --cluster` (Orleans).
set -euo pipefail

services=("$@")
[ ${#services[@]} -gt 0 ] || services=(postgres rabbitmq redis)

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

start_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "services: installing RabbitMQ"
    install rabbitmq-server
  fi
  if ! rabbitmqctl -q status >/dev/null 2>&1; then
    # No systemd here: the broker runs detached; it binds 5672 on every interface, the tests use loopback.
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  local ready=
  for _ in $(seq 1 60); do
    if rabbitmqctl -q await_startup >/dev/null 2>&1; then ready=1; break; fi
    sleep 1
  done
  [ -n "$ready" ] || { echo "services: RabbitMQ did not start" >&2; exit 1; }
  rabbitmqctl -q list_users | grep -q '^persona' ||
    rabbitmqctl -q add_user persona persona >/dev/null
  rabbitmqctl -q set_permissions -p / persona '.*' '.*' '.*' >/dev/null
  echo "services: RabbitMQ $(rabbitmqctl -q version 2>/dev/null) on 127.0.0.1:5672 (user persona)"
}

start_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "services: installing Redis"
    install redis-server
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    # No systemd here: daemonised, loopback only, nothing written to disk (membership is rebuilt by the silos).
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no >/dev/null
  fi
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
    sleep 1
  done
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || { echo "services: Redis did not start" >&2; exit 1; }
  echo "services: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:6379"
}

for service in "${services[@]}"; do
  case "$service" in
    postgres) start_postgres ;;
    rabbitmq) start_rabbitmq ;;
    redis) start_redis ;;
    *) echo "services: unknown service '$service' (known: postgres, rabbitmq, redis)" >&2; exit 2 ;;
  esac
done
