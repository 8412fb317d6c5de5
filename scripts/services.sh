#!/usr/bin/env bash
# Start the local Postgres and Redis when they are not running. Installs them from Debian when missing.
# CodeVoice's defaults (DATABASE_URL, the tests) connect to 127.0.0.1:5432 as `postgres` without a
# password, so Postgres must trust loopback connections; see allow_loopback_trust below.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# 1 when this run installed or started the Postgres cluster: only then may it change the cluster's auth.
pg_fresh=0
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  if [[ " ${need_apt[*]} " == *" postgresql "* ]]; then pg_fresh=1; fi
fi

# The Debian cluster serving port 5432 ("<version> <name>"); else the first one, as a fallback.
pg_cluster="$(pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 {print $1, $2; exit}' || true)"
[ -n "$pg_cluster" ] || pg_cluster="$(ls /etc/postgresql 2>/dev/null | head -n1) main"
read -r pg_ver pg_name <<<"$pg_cluster"

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_name" start
  pg_fresh=1
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

pg_login() { psql -h 127.0.0.1 -U postgres -w -tAc "SELECT 1" 2>&1 >/dev/null; }

# DEVELOPMENT / CI ONLY. Debian's own pg_hba.conf asks for a password (scram-sha-256) on 127.0.0.1 and
# ::1, and uses peer auth on the Unix socket. For a cluster this script has just installed or started, and
# only when a password-less loopback login fails, put `trust` rules for 127.0.0.1/32 and ::1/128 first in
# that cluster's pg_hba.conf and reload: any local user may then connect as any role without a password.
# Acceptable on a development machine or a throwaway CI runner, never on a shared or production host.
# Idempotent: the rules sit between marker lines and are added once. Clusters it did not start are left
# alone (it says what to do instead).
PG_HBA_MARK="codevoice dev/CI loopback trust (scripts/services.sh)"
allow_loopback_trust() {
  local hba tmp
  hba="$(pg_conftool -s "$pg_ver" "$pg_name" show hba_file 2>/dev/null)" \
    || hba="/etc/postgresql/$pg_ver/$pg_name/pg_hba.conf"
  [ -f "$hba" ] || { echo "services.sh: no pg_hba.conf found for cluster $pg_ver/$pg_name" >&2; return 1; }
  if ! grep -qF "BEGIN $PG_HBA_MARK" "$hba"; then
    echo "services.sh: DEV/CI ONLY: trusting loopback connections (127.0.0.1, ::1) in $hba" >&2
    tmp="$(mktemp)"
    {
      echo "# BEGIN $PG_HBA_MARK: development and CI machines only, never a shared or production host."
      echo "host    all             all             127.0.0.1/32            trust"
      echo "host    all             all             ::1/128                 trust"
      echo "# END $PG_HBA_MARK"
      cat "$hba"
    } >"$tmp"
    cat "$tmp" >"$hba" # rewrite in place: keeps the file's owner and mode
    rm -f "$tmp"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_name" reload
  for _ in $(seq 1 20); do pg_login >/dev/null && return 0; sleep 0.5; done
  return 0
}

if ! pg_err="$(pg_login)"; then
  if [ "$pg_fresh" = 1 ]; then
    allow_loopback_trust || true # on failure, the message below says what to do by hand
  fi
  if ! pg_err="$(pg_login)"; then
    cat >&2 <<MSG
services.sh: cannot connect to Postgres on 127.0.0.1:5432 as postgres without a password:
  ${pg_err}
CodeVoice's development defaults and tests need password-less loopback access. On a development or CI
machine, add these lines at the top of the cluster's pg_hba.conf (\`pg_conftool $pg_ver $pg_name show hba_file\`):
  host all all 127.0.0.1/32 trust
  host all all ::1/128 trust
then run \`pg_ctlcluster $pg_ver $pg_name reload\` (this script does so itself only for a cluster it has
just installed or started).
MSG
    exit 1
  fi
fi

# create the databases we use when absent
for db in codevoice test; do
  psql -h 127.0.0.1 -U postgres -w -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -w -qc "CREATE DATABASE $db"
done

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
echo "services: postgres and redis are up"
