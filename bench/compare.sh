#!/usr/bin/env bash
# Side-by-side benchmark: picket-server (release build) against Debian's
# redis-server on the same machine in the same run, same settings
# (--save "" --appendonly no, loopback, free ports, temp dirs).
#
# 1. Throughput/latency: redis-benchmark -c C -n N --csv for each test at
#    each pipeline depth, R repetitions (picket and redis alternate within
#    each repetition), median of the R runs.
# 2. Memory: fresh servers, exactly KEYS distinct keys with VALSIZE-byte
#    values loaded through `redis-cli --pipe` (the same bytes for both);
#    RSS from /proc/<pid>/status (VmRSS) before and after, for both, so the
#    methodology is identical; INFO used_memory when the server has it.
# 3. Persistence (bench/persist.py, which documents the method): SAVE time,
#    RDB size and start-up load time for KEYS keys; peak RSS (server +
#    child) during BGSAVE under a SET load; SET throughput with
#    appendfsync always / everysec. Median of R runs, ratios picket/redis.
# 4. Replication (bench/repl.py, which documents the method): picket master
#    -> picket replica against redis -> redis: full sync time of KEYS keys
#    (disk and diskless), bytes of a partial resync after a REPL_GAP-command
#    gap, replication lag (bytes and time) and master SET rps with one
#    replica under a redis-benchmark SET load at each pipeline depth.
# 5. Sentinel (bench/sentinel.py, which documents the method): 1 master + 2
#    replicas of redis-server watched by 3 picket-sentinels against 3
#    redis-sentinels (quorum 2, down-after 1000, failover-timeout 10000):
#    seconds from SIGKILL of the master to the first +switch-master and to
#    the first write by a client that rediscovers the master through the
#    sentinels; median/min/max of max(R, 5) trials, ratios picket/redis.
#
# Environment: N (requests per run, default 100000), R (repetitions, 3),
# C (clients, 50), PIPELINES ("1 16"), TESTS (set,get,incr,lpush,lpop,sadd,hset,zadd,mset),
# KEYS (1000000), VALSIZE (100), SKIP_THROUGHPUT=1, SKIP_MEMORY=1,
# SKIP_PERSIST=1 (SKIP_BGSAVE=1, SKIP_AOF=1 skip parts of it;
# PERSIST_VALUES=random|x picks its values), SKIP_REPL=1 (REPL_N requests
# per lag run, default 1000000; REPL_GAP, default 10000), SKIP_BUILD=1,
# SKIP_SENTINEL=1 (PICKET_DATA=1 adds picket-sentinel over picket-server
# data nodes), PICKET_ARGS (extra picket-server options, e.g.
# "--io-threads 2").
# Output: a Markdown report on stdout; raw numbers in bench/out/.
set -euo pipefail

N=${N:-100000}
R=${R:-3}
C=${C:-50}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-set,get,incr,lpush,lpop,sadd,hset,zadd,mset}
KEYS=${KEYS:-1000000}
VALSIZE=${VALSIZE:-100}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
for b in redis-server redis-cli redis-benchmark python3; do
    command -v "$b" >/dev/null || { echo "compare.sh: $b not found (apt-get install -y redis-server redis-tools python3)" >&2; exit 1; }
done

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p picket-server >&2
    if [ -z "${SKIP_SENTINEL:-}" ]; then
        cargo build --release -p picket-sentinel >&2
    fi
fi
PICKET="$ROOT/target/release/picket-server"
[ -x "$PICKET" ] || { echo "compare.sh: $PICKET missing" >&2; exit 1; }
PICKET_SENTINEL="$ROOT/target/release/picket-sentinel"
if [ -z "${SKIP_SENTINEL:-}" ]; then
    command -v redis-sentinel >/dev/null || { echo "compare.sh: redis-sentinel not found (apt-get install -y redis-sentinel), or SKIP_SENTINEL=1" >&2; exit 1; }
    [ -x "$PICKET_SENTINEL" ] || { echo "compare.sh: $PICKET_SENTINEL missing" >&2; exit 1; }
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME BIN -> sets ${NAME}_PORT and ${NAME}_PID
start_server() {
    local name=$1 bin=$2 port pid dir i
    for _try in 1 2 3 4 5; do
        port=$(free_port)
        dir="$WORK/$name-$port"
        mkdir -p "$dir"
        local extra=()
        if [ "$name" = picket ] && [ -n "${PICKET_ARGS:-}" ]; then read -r -a extra <<<"$PICKET_ARGS"; fi
        "$bin" --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
            --daemonize no "${extra[@]}" >"$dir/log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        for i in $(seq 100); do
            if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
                printf -v "${name}_PORT" '%s' "$port"
                printf -v "${name}_PID" '%s' "$pid"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "compare.sh: $name did not start; log:" >&2
    cat "$dir/log" >&2 || true
    exit 1
}

stop_server() {
    local pid=$1
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

rss_kb() {
    awk '/^VmRSS:/{print $2}' "/proc/$1/status"
}

# used_memory from INFO memory, or "n/a" when the server has no INFO yet
used_memory() {
    local v
    v=$(redis-cli -h 127.0.0.1 -p "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}')
    echo "${v:-n/a}"
}

mkdir -p "$ROOT/bench/out"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RAW="$ROOT/bench/out/compare-$STAMP.csv"
echo "server,test,pipeline,rep,rps,p50_ms,p99_ms,error" >"$RAW"

if [ -z "${SKIP_THROUGHPUT:-}" ]; then
start_server picket "$PICKET"
start_server redis redis-server

echo "compare.sh: picket on :$picket_PORT (pid $picket_PID), redis on :$redis_PORT (pid $redis_PID); N=$N R=$R C=$C" >&2

# run_bench SERVER PORT TEST PIPELINE REP
run_bench() {
    local server=$1 port=$2 t=$3 p=$4 rep=$5 out err line
    out="$WORK/bench.out"
    err="$WORK/bench.err"
    if redis-benchmark -h 127.0.0.1 -p "$port" -c "$C" -n "$N" -P "$p" -t "$t" --csv >"$out" 2>"$err" \
        && line=$(awk -F, 'NR==2' "$out") && [ -n "$line" ]; then
        # "test","rps","avg","min","p50","p95","p99","max"
        python3 - "$line" "$server" "$t" "$p" "$rep" >>"$RAW" <<'PY'
import csv, sys
row = next(csv.reader([sys.argv[1]]))
print(",".join([sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], row[1], row[4], row[6], ""]))
PY
    else
        local msg
        msg=$(cat "$err" "$out" 2>/dev/null | grep -v -e '^WARNING' -e '^"test"' | tr -d '\r",' | tr '\n' ' ' | cut -c1-120 || true)
        echo "$server,$t,$p,$rep,,,,${msg:-failed}" >>"$RAW"
        echo "compare.sh: $server $t -P $p: ${msg:-failed}" >&2
    fi
}

IFS=, read -r -a TEST_LIST <<<"$TESTS"
for rep in $(seq "$R"); do
    for t in "${TEST_LIST[@]}"; do
        for p in $PIPELINES; do
            # alternate who goes first, so neither always runs on a warmer machine
            if ((rep % 2)); then order="picket redis"; else order="redis picket"; fi
            for s in $order; do
                port_var="${s}_PORT"
                run_bench "$s" "${!port_var}" "$t" "$p" "$rep"
            done
        done
    done
    echo "compare.sh: repetition $rep/$R done" >&2
done
stop_server "$picket_PID"
stop_server "$redis_PID"
fi

# ---- memory ----
MEM="$WORK/mem.txt"
if [ -z "${SKIP_MEMORY:-}" ]; then
    LOAD="$WORK/load.resp"
    python3 - "$KEYS" "$VALSIZE" >"$LOAD" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
val = (b"x" * size)
chunk = []
for i in range(n):
    k = b"key:%d" % i
    chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, val))
    if len(chunk) == 10000:
        out.write(b"".join(chunk)); chunk = []
out.write(b"".join(chunk))
PY
    : >"$MEM"
    for s in picket redis; do
        if [ "$s" = picket ]; then start_server picket "$PICKET"; else start_server redis redis-server; fi
        port_var="${s}_PORT"; pid_var="${s}_PID"
        port=${!port_var}; pid=${!pid_var}
        before=$(rss_kb "$pid")
        um_before=$(used_memory "$port")
        pipe_out=$(redis-cli -h 127.0.0.1 -p "$port" --pipe <"$LOAD" 2>&1 | tr -d '\r')
        if ! grep -q "errors: 0, replies: $KEYS" <<<"$pipe_out"; then
            echo "compare.sh: loading $s failed: $pipe_out" >&2
            exit 1
        fi
        sleep 1
        after=$(rss_kb "$pid")
        um_after=$(used_memory "$port")
        dbsize=$(redis-cli -h 127.0.0.1 -p "$port" dbsize 2>&1 | tr -d '\r')
        if [[ "$dbsize" =~ ^[0-9]+$ ]]; then
            [ "$dbsize" -eq "$KEYS" ] || { echo "compare.sh: $s DBSIZE $dbsize != $KEYS" >&2; exit 1; }
        else
            dbsize="n/a"
        fi
        # spot-check first and last key in any case
        for k in 0 $((KEYS - 1)); do
            got=$(redis-cli -h 127.0.0.1 -p "$port" strlen "key:$k" | tr -d '\r')
            [ "$got" = "$VALSIZE" ] || { echo "compare.sh: $s key:$k has length '$got'" >&2; exit 1; }
        done
        echo "$s $before $after $um_before $um_after $dbsize" >>"$MEM"
        stop_server "$pid"
    done
fi

# ---- persistence ----
PERSIST_MD="$WORK/persist.md"
if [ -z "${SKIP_PERSIST:-}" ]; then
    PERSIST_RAW="$ROOT/bench/out/persist-$STAMP.csv"
    KEYS=$KEYS VALSIZE=$VALSIZE R=$R C=$C N=$N \
        python3 "$ROOT/bench/persist.py" "$PICKET" "$PERSIST_RAW" "$PERSIST_MD"
    cp "$PERSIST_RAW" "$ROOT/bench/out/persist-latest.csv"
fi

# ---- replication ----
REPL_MD="$WORK/repl.md"
if [ -z "${SKIP_REPL:-}" ]; then
    REPL_RAW="$ROOT/bench/out/repl-$STAMP.csv"
    KEYS=$KEYS VALSIZE=$VALSIZE R=$R C=$C PIPELINES=$PIPELINES \
        python3 "$ROOT/bench/repl.py" "$PICKET" "$REPL_RAW" "$REPL_MD"
    cp "$REPL_RAW" "$ROOT/bench/out/repl-latest.csv"
    cp "${REPL_RAW%.csv}-samples.csv" "$ROOT/bench/out/repl-latest-samples.csv"
fi

# ---- sentinel ----
SENTINEL_MD="$WORK/sentinel.md"
if [ -z "${SKIP_SENTINEL:-}" ]; then
    SENTINEL_RAW="$ROOT/bench/out/sentinel-$STAMP.csv"
    R=$((R > 5 ? R : 5)) PICKET_DATA=${PICKET_DATA:-} \
        python3 "$ROOT/bench/sentinel.py" "$PICKET_SENTINEL" "$PICKET" "$SENTINEL_RAW" "$SENTINEL_MD"
    cp "$SENTINEL_RAW" "$ROOT/bench/out/sentinel-latest.csv"
    cp "${SENTINEL_RAW%.csv}-steps.csv" "$ROOT/bench/out/sentinel-latest-steps.csv"
fi

cp "$RAW" "$ROOT/bench/out/latest.csv"

python3 - "$RAW" "$MEM" "$N" "$R" "$C" "$KEYS" "$VALSIZE" "$TESTS" "$PIPELINES" <<'PY'
import csv, os, statistics, sys, platform, subprocess
raw, mem, N, R, C, KEYS, VALSIZE, TESTS, PIPES = sys.argv[1:10]
rows = list(csv.DictReader(open(raw)))
def cpu():
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"
def ver(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
print("## picket-server vs redis-server\n")
print(f"- machine: {cpu()}, {os.cpu_count()} cores; client redis-benchmark on the same machine")
print(f"- {ver(['redis-server', '--version'])}")
print(f"- redis-benchmark -c {C} -n {N} -t <test> -P <pipeline> --csv; median of {R} runs; "
      "both servers with --save \"\" --appendonly no")
print("- ratio = picket / redis (rps: higher is better for picket; p99 ratio: lower is better)\n")
if rows:
    print("| test | pipeline | picket rps | redis rps | ratio | picket p50 ms | redis p50 ms | picket p99 ms | redis p99 ms | p99 ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
else:
    print("(throughput not measured: SKIP_THROUGHPUT)")
    TESTS, PIPES = "", ""
def med(server, t, p, field):
    vals = [float(r[field]) for r in rows if r["server"] == server and r["test"] == t and r["pipeline"] == p and r[field]]
    return statistics.median(vals) if vals else None
def err(server, t, p):
    e = [r["error"] for r in rows if r["server"] == server and r["test"] == t and r["pipeline"] == p and r["error"]]
    return e[0] if e else None
def f(v, nd=0):
    return "n/a" if v is None else (f"{v:,.{nd}f}")
def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"
notes = []
for t in filter(None, TESTS.split(",")):
    for p in PIPES.split():
        pr, rr = med("picket", t, p, "rps"), med("redis", t, p, "rps")
        p50p, p50r = med("picket", t, p, "p50_ms"), med("redis", t, p, "p50_ms")
        p99p, p99r = med("picket", t, p, "p99_ms"), med("redis", t, p, "p99_ms")
        for s in ("picket", "redis"):
            e = err(s, t, p)
            if e:
                notes.append(f"{s} {t.upper()} -P {p}: {e}")
        name = "MSET (10 keys)" if t == "mset" else t.upper()
        print(f"| {name} | {p} | {f(pr)} | {f(rr)} | {ratio(pr, rr)} | {f(p50p, 3)} | {f(p50r, 3)} | {f(p99p, 3)} | {f(p99r, 3)} | {ratio(p99p, p99r)} |")
if notes:
    print("\nFailed runs (n/a above):\n")
    for n in sorted(set(notes)):
        print(f"- {n}")
if os.path.exists(mem) and os.path.getsize(mem):
    m = {}
    for l in open(mem):
        s, b, a, ub, ua, db = l.split()
        m[s] = (int(b), int(a), ub, ua, db)
    keys = int(KEYS)
    print(f"\n### Memory: {keys:,} distinct keys, {VALSIZE}-byte values (SET via redis-cli --pipe)\n")
    print("RSS from /proc/<pid>/status VmRSS for both; used_memory from INFO memory when available.\n")
    print("| server | RSS before | RSS after | RSS bytes/key | used_memory after | used_memory bytes/key | DBSIZE |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    per = {}
    for s in ("picket", "redis"):
        if s not in m:
            continue
        b, a, ub, ua, db = m[s]
        per[s] = (a - b) * 1024 / keys
        um = "n/a"
        if ub != "n/a" and ua != "n/a":
            um = f"{(int(ua) - int(ub)) / keys:.1f}"
        uas = "n/a" if ua == "n/a" else f"{int(ua) / 1048576:.1f} MiB"
        print(f"| {s} | {b / 1024:.1f} MiB | {a / 1024:.1f} MiB | {per[s]:.1f} | {uas} | {um} | {db} |")
    if "picket" in per and "redis" in per and per["redis"] > 0:
        print(f"\nRSS per key ratio (picket / redis): {per['picket'] / per['redis']:.2f}")
print(f"\nRaw runs: {raw}")
PY
if [ -s "$PERSIST_MD" ]; then
    cat "$PERSIST_MD"
    echo
    echo "Raw persistence runs: $PERSIST_RAW"
fi
if [ -s "$REPL_MD" ]; then
    cat "$REPL_MD"
    echo
    echo "Raw replication runs: $REPL_RAW (lag samples: ${REPL_RAW%.csv}-samples.csv)"
fi
if [ -s "$SENTINEL_MD" ]; then
    cat "$SENTINEL_MD"
    echo
    echo "Raw sentinel trials: $SENTINEL_RAW (steps: ${SENTINEL_RAW%.csv}-steps.csv)"
fi
