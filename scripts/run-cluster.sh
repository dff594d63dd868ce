#!/usr/bin/env bash
# Runs a local three-silo cluster on 127.0.0.1: a redis-server (AOF on) and silos s1, s2, s3, each with its own
# HTTP, silo and gateway port and its data under ./data-cluster/sN. Ctrl+C (or SIGTERM) stops them all.
#
#   scripts/run-cluster.sh
#
# Environment overrides (defaults in brackets):
#   CLUSTER_DATA_DIR       [./data-cluster]        silo data (sN/), logs (sN.log) and, unless CLUSTER_REDIS_DIR, redis/
#   CLUSTER_REDIS_DIR      [$CLUSTER_DATA_DIR/redis] where redis-server keeps its append-only file
#   CLUSTER_REDIS_PORT     [6390]
#   CLUSTER_HTTP_PORTS     ["5081 5082 5083"]
#   CLUSTER_SILO_PORTS     ["11111 11112 11113"]
#   CLUSTER_GATEWAY_PORTS  ["30000 30001 30002"]
#   CLUSTER_ID             [orleansshards]          Orleans ClusterId and ServiceId
#   CLUSTER_NO_BUILD       [unset]                  set to 1 to skip `dotnet build` (the silo must be built)
#   CLUSTER_READY_TIMEOUT  [90]                     seconds to wait for the three silos to see each other
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

data="${CLUSTER_DATA_DIR:-$root/data-cluster}"
redis_dir="${CLUSTER_REDIS_DIR:-$data/redis}"
redis_port="${CLUSTER_REDIS_PORT:-6390}"
read -r -a http_ports <<< "${CLUSTER_HTTP_PORTS:-5081 5082 5083}"
read -r -a silo_ports <<< "${CLUSTER_SILO_PORTS:-11111 11112 11113}"
read -r -a gateway_ports <<< "${CLUSTER_GATEWAY_PORTS:-30000 30001 30002}"
cluster_id="${CLUSTER_ID:-orleansshards}"
ready_timeout="${CLUSTER_READY_TIMEOUT:-90}"
silo_dll="$root/Silo/bin/Release/net10.0/OrleansShards.Silo.dll"

for list in http_ports silo_ports gateway_ports; do
    declare -n ports="$list"
    if [ "${#ports[@]}" -ne 3 ]; then
        echo "run-cluster: $list needs three ports, got '${ports[*]}'" >&2
        exit 2
    fi
done

command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
    || { echo "run-cluster: redis-server and redis-cli are needed (apt-get install -y redis-server)" >&2; exit 2; }
if [ -z "${CLUSTER_NO_BUILD:-}" ]; then
    dotnet build -c Release Silo -v quiet -nologo
fi
[ -f "$silo_dll" ] || { echo "run-cluster: $silo_dll is missing; build the silo first" >&2; exit 2; }

mkdir -p "$data" "$redis_dir"
pids=()
stopping=0

stop_all() {
    [ "$stopping" -eq 1 ] && return
    stopping=1
    trap - INT TERM
    echo "run-cluster: stopping ${pids[*]:-nothing}"
    # Silos first (gracefully: each leaves the membership table in Redis and closes its files), then Redis.
    local silos=("${pids[@]:1}") deadline=$((SECONDS + 30)) alive
    for pid in "${silos[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    while [ "$SECONDS" -lt "$deadline" ]; do
        alive=0
        for pid in "${silos[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.2
    done
    for pid in "${silos[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [ "${#pids[@]}" -gt 0 ]; then
        kill -TERM "${pids[0]}" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${pids[0]}" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    echo "run-cluster: stopped"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Redis with the append-only file on: membership, reminders and the shard ownership map survive its restart. In its
# own session, so that Ctrl+C reaches only this script, which stops the silos before Redis (a silo leaving the
# cluster writes to Redis). setsid runs in place: $! is redis-server's pid.
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --protected-mode no --dir "$redis_dir" \
    --appendonly yes --appendfsync everysec --save '' >"$data/redis.log" 2>&1 &
pids+=("$!")
redis_up=0
for _ in $(seq 1 100); do
    kill -0 "${pids[0]}" 2>/dev/null || break
    # Ours, not another server already on that port: it keeps its files in our directory.
    if [ "$(redis-cli -p "$redis_port" config get dir 2>/dev/null | tail -n 1)" = "$(cd "$redis_dir" && pwd -P)" ]; then
        redis_up=1
        break
    fi
    sleep 0.1
done
if [ "$redis_up" -ne 1 ]; then
    echo "run-cluster: redis-server did not start on port $redis_port (in use?); see $data/redis.log" >&2
    exit 1
fi
echo "run-cluster: redis-server pid ${pids[0]} on 127.0.0.1:$redis_port (AOF in $redis_dir)"

for i in 0 1 2; do
    name="s$((i + 1))"
    mkdir -p "$data/$name"
    ASPNETCORE_URLS="http://127.0.0.1:${http_ports[$i]}" \
    Shards__DataDirectory="$data/$name" \
    Shards__Cluster__Redis="127.0.0.1:$redis_port,abortConnect=false" \
    Shards__Cluster__ClusterId="$cluster_id" \
    Shards__Cluster__ServiceId="$cluster_id" \
    Shards__Cluster__SiloName="$name" \
    Shards__Cluster__SiloPort="${silo_ports[$i]}" \
    Shards__Cluster__GatewayPort="${gateway_ports[$i]}" \
    Shards__Cluster__AdvertisedAddress=127.0.0.1 \
        dotnet "$silo_dll" >"$data/$name.log" 2>&1 &
    pids+=("$!")
    echo "run-cluster: $name pid $! http://127.0.0.1:${http_ports[$i]} (silo port ${silo_ports[$i]}, gateway ${gateway_ports[$i]}, data $data/$name, log $data/$name.log)"
done

# Ready when every silo lists three active silos.
deadline=$((SECONDS + ready_timeout))
for i in 0 1 2; do
    url="http://127.0.0.1:${http_ports[$i]}/v1/cluster"
    until [ "$(curl -fsS "$url" 2>/dev/null | grep -o '"status":"active"' | wc -l)" -ge 3 ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "run-cluster: s$((i + 1)) did not see three active silos within ${ready_timeout} s; see $data/s$((i + 1)).log" >&2
            exit 1
        fi
        if ! kill -0 "${pids[$((i + 1))]}" 2>/dev/null; then
            echo "run-cluster: s$((i + 1)) exited; see $data/s$((i + 1)).log" >&2
            exit 1
        fi
        sleep 0.5
    done
done
echo "run-cluster: ready: http://127.0.0.1:${http_ports[0]} http://127.0.0.1:${http_ports[1]} http://127.0.0.1:${http_ports[2]} (Ctrl+C stops all)"

# Until Ctrl+C, or until one of them exits on its own.
set +e
wait -n "${pids[@]}"
status=$?
if [ "$stopping" -eq 0 ]; then
    echo "run-cluster: a process exited ($status); stopping the others" >&2
fi
exit 1
