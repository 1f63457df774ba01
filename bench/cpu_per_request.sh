#!/usr/bin/env bash
# Server CPU time per request, picket-server vs Debian's redis-server, same
# run, same load: a lower-noise companion to compare.sh (throughput on a
# 2-core box swings with scheduling; the CPU a server burns per request
# does much less). CPU = utime+stime of the server process from
# /proc/<pid>/stat around `redis-benchmark -c C -n N -P <p> -t <test>`.
# Env: N (default 1000000), R (3, median), C (50), TESTS (set,get),
# PIPELINES ("1 16"), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}; R=${R:-3}; C=${C:-50}; TESTS=${TESTS:-set,get}; PIPELINES=${PIPELINES:-"1 16"}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p picket-server >&2
PICKET=./target/release/picket-server
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # name bin -> sets ${name}_PORT and ${name}_PID
    local port dir
    port=$(free_port); dir="$WORK/$1-$port"; mkdir -p "$dir"
    "$2" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize no >"$dir/log" 2>&1 &
    PIDS+=("$!")
    printf -v "$1_PID" '%s' "$!"
    printf -v "$1_PORT" '%s' "$port"
    for _ in $(seq 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.05; done
    echo "cpu_per_request.sh: $1 did not start" >&2; exit 1
}
start picket "$PICKET"
start redis redis-server
PP=$picket_PORT; PPID_=$picket_PID; RP=$redis_PORT; RPID=$redis_PID
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo "| test | pipeline | picket µs CPU/request | redis µs CPU/request | ratio |"
echo "| --- | ---: | ---: | ---: | ---: |"
for t in ${TESTS//,/ }; do
  for p in $PIPELINES; do
    for side in picket redis; do
      if [ $side = picket ]; then port=$PP; pid=$PPID_; else port=$RP; pid=$RPID; fi
      vals=()
      for _ in $(seq "$R"); do
        a=$(ticks "$pid"); redis-benchmark -p "$port" -c "$C" -n "$N" -P "$p" -t "$t" -q >/dev/null; b=$(ticks "$pid")
        vals+=("$(python3 -c "print(($b-$a)/$hz*1e6/$N)")")
      done
      m=$(printf '%s\n' "${vals[@]}" | median)
      if [ $side = picket ]; then pm=$m; else rm_=$m; fi
    done
    printf '| %s | %s | %.3f | %.3f | %.2f |\n' "${t^^}" "$p" "$pm" "$rm_" "$(python3 -c "print($pm/$rm_)")"
  done
done
