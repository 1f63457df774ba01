#!/usr/bin/env python3
"""Replication section of bench/compare.sh: a picket master with a picket
replica against a redis master with a redis replica, side by side in one
run, same bytes, same method.

For each of R repetitions (who goes first alternates), for each server, one
master (repl-diskless-sync-delay 0, repl-backlog-size REPL_BACKLOG on master
and replicas, no snapshots) is filled with KEYS × SET key:%012d <VALSIZE
random bytes> through `redis-cli --pipe` (bench/benchlib.make_resp, the
input persist.py uses), then:

  full sync      for repl-diskless-sync no (disk), then yes (diskless): a
                 fresh, empty replica in its own directory is started;
                 the clock runs from sending REPLICAOF to the first 10 ms
                 poll where the replica's INFO replication says
                 master_link_status:up and its master_repl_offset equals the
                 master's (polled right after). The replica's DBSIZE must
                 then be KEYS. The disk replica is stopped; the diskless one
                 stays for the next two parts.
  partial resync the replica is frozen (SIGSTOP), the master drops it
                 (CLIENT KILL TYPE replica), REPL_GAP SET commands (same
                 key/value format, new values) are piped to the master with
                 no replica attached, so they exist only in its backlog; the
                 replica is resumed (SIGCONT), reads EOF, reconnects on its
                 own and continues. Stream bytes: the master's
                 master_repl_offset delta over the gap. Bytes received:
                 once the replica's offset equals the master's, the TCP
                 bytes_received (tcp_info, read with `ss -ti`) of the
                 replica's one established connection to the master, i.e.
                 everything the master sent on the new link: handshake
                 replies, +CONTINUE and the backlog tail. Not /proc/<pid>/io
                 rchar: picket reads sockets with recv(2) (Rust's std), which
                 rchar does not count, while Redis uses read(2); and not
                 INFO total_net_repl_input_bytes, which picket reports as 0
                 (its delta is kept in the raw CSV for reference). tcp_info
                 is read the same way for both. The master's INFO stats must show
                 sync_partial_ok + 1 and an unchanged sync_full, otherwise
                 the run aborts. Time from SIGCONT to caught-up is recorded
                 too; it is dominated by the replica's reconnect period.
  lag under load redis-benchmark -t set -c C -P <pipeline> -n REPL_N
                 -r KEYS -d VALSIZE (overwriting the loaded keys) against
                 the master with the replica attached. Every 10 ms this
                 script reads master_repl_offset from the master, then from
                 the replica (one connection each), stamping each reading
                 with the midpoint of its request's round trip; after the
                 load it keeps sampling until the replica reaches the
                 master's final offset.
                 Byte lag: for each replica sample taken while the load
                 runs, the master's offset linearly interpolated at that
                 instant minus the replica's offset.
                 Time lag: for each master sample (t, m) taken while the
                 load runs, the instant the replica's offset reached m,
                 linearly interpolated between the two replica samples
                 around the crossing, minus t (0 if the replica was already
                 there). Both therefore have a resolution of about one
                 sampling interval plus an INFO round trip, and assume the
                 offset grows evenly between samples.
                 Median and p99 over the samples of one run; the SET rps is
                 redis-benchmark's own figure for that run.

The table shows medians of the R runs; ratios are picket / redis (lower is
better for time, bytes and lag; higher is better for throughput).

usage: repl.py PICKET_BIN OUT_CSV OUT_MD  (settings from the environment:
KEYS, VALSIZE, R, C, REPL_N (default 1000000), PIPELINES ("1 16"),
REPL_GAP (10000), REPL_BACKLOG (64mb), PICKET_ARGS, SKIP_FULLSYNC=1,
SKIP_PARTIAL=1, SKIP_LAG=1). The lag samples go to OUT_CSV with
`-samples` before the extension.
"""
import bisect
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import Conn, Servers, bench_rps, fail, fill, log, make_resp, stop, wait_loaded

PICKET, OUT_CSV, OUT_MD = sys.argv[1:4]
KEYS = int(os.environ.get("KEYS", "1000000"))
VALSIZE = int(os.environ.get("VALSIZE", "100"))
R = int(os.environ.get("R", "3"))
C = int(os.environ.get("C", "50"))
REPL_N = int(os.environ.get("REPL_N", "1000000"))
PIPELINES = [int(p) for p in os.environ.get("PIPELINES", "1 16").split()]
GAP = int(os.environ.get("REPL_GAP", "10000"))
BACKLOG = os.environ.get("REPL_BACKLOG", "64mb")
SERVERS = Servers(PICKET, shlex.split(os.environ.get("PICKET_ARGS", "")))
WORK = tempfile.mkdtemp(prefix="repl-")
POLL = 0.01
TIMEOUT = 120  # seconds for any one reply
COMMON = ["--appendonly", "no", "--repl-backlog-size", BACKLOG, "--repl-diskless-sync-delay", "0"]


def repl_offset(c):
    return int(c.info("replication").get("master_repl_offset", "-1"))


def fresh_dir(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def start_ready(name, d, extra=()):
    p, port, t0 = SERVERS.start(name, d, COMMON + list(extra))
    wait_loaded(p, port, t0)
    return p, port


def caught_up(master, replica):
    """True when the replica's link is up and its offset is the master's."""
    ri = replica.info("replication")
    if ri.get("master_link_status") != "up":
        return False
    return int(ri.get("master_repl_offset", "-1")) == repl_offset(master)


def wait_caught_up(master, replica, t0, what, limit=600):
    while not caught_up(master, replica):
        if time.monotonic() - t0 > limit:
            fail(f"{what}: replica not caught up after {limit} s")
        time.sleep(POLL)
    return time.monotonic() - t0


def full_sync(name, rep, mode, mport, m):
    """Seconds from REPLICAOF until the fresh replica is caught up; returns
    (seconds, replica process, replica port)."""
    m.cmd("CONFIG", "SET", "repl-diskless-sync", "yes" if mode == "diskless" else "no")
    p, port = start_ready(name, fresh_dir(f"{name}-{rep}-replica-{mode}"))
    c = Conn(port, TIMEOUT)
    t0 = time.monotonic()
    r = c.cmd("REPLICAOF", "127.0.0.1", str(mport))
    if r != "OK":
        fail(f"{name} REPLICAOF: {r}")
    dt = wait_caught_up(m, c, t0, f"{name} {mode} full sync")
    n = c.cmd("DBSIZE")
    c.close()
    if str(n) != str(KEYS):
        fail(f"{name} {mode} full sync: replica has {n} keys, expected {KEYS}")
    return dt, p, port


def partial_resync(name, m, mport, rp, rport, gap_resp):
    """Cuts the link of a caught-up replica, runs the gap on the master,
    lets the replica continue; returns a dict of measurements."""
    c = Conn(rport, TIMEOUT)
    wait_caught_up(m, c, time.monotonic(), f"{name} before the gap")
    stats0 = m.info("stats")
    net0 = int(c.info("stats").get("total_net_repl_input_bytes", "0"))
    rp.send_signal(signal.SIGSTOP)
    try:
        killed = m.cmd("CLIENT", "KILL", "TYPE", "replica")
        if str(killed) != "1":
            fail(f"{name}: CLIENT KILL TYPE replica killed {killed}")
        t = time.monotonic()
        while m.info("replication").get("connected_slaves") != "0":
            if time.monotonic() - t > 10:
                fail(f"{name}: the master still lists its replica after CLIENT KILL")
            time.sleep(POLL)
        off0 = repl_offset(m)
        fill(mport, gap_resp, GAP)
        off1 = repl_offset(m)
    finally:
        rp.send_signal(signal.SIGCONT)
    t0 = time.monotonic()
    dt = wait_caught_up(m, c, t0, f"{name} partial resync", limit=60)
    wire = link_bytes_received(rp.pid, mport)
    net = int(c.info("stats").get("total_net_repl_input_bytes", "0")) - net0
    c.close()
    stats1 = m.info("stats")
    full = int(stats1["sync_full"]) - int(stats0["sync_full"])
    partial = int(stats1["sync_partial_ok"]) - int(stats0["sync_partial_ok"])
    if full != 0 or partial != 1:
        fail(f"{name}: after the gap sync_full grew by {full}, sync_partial_ok by {partial} "
             "(expected 0 and 1)")
    return {"psync_stream_bytes": off1 - off0, "psync_wire_bytes": wire, "psync_s": dt,
            "psync_net_repl_input_bytes": net}


def link_bytes_received(pid, mport):
    """tcpi_bytes_received of PID's established connection to the master's
    port, as `ss` reports it (absent means 0)."""
    out = subprocess.run(["ss", "-tinpHO", "state", "established", "dport", "=", f":{mport}"],
                         capture_output=True, text=True, check=True).stdout
    links = [l for l in out.splitlines() if f"pid={pid}," in l]
    if len(links) != 1:
        fail(f"expected one link from pid {pid} to :{mport}, ss shows: {out}")
    m = re.search(r"bytes_received:(\d+)", links[0])
    return int(m.group(1)) if m else 0


def percentile(xs, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(-(-q * len(s) // 100)) - 1))]


def interp(ts, vs, t):
    """Piecewise-linear value of the series (ts, vs) at t (clamped)."""
    i = bisect.bisect_left(ts, t)
    if i == 0:
        return vs[0]
    if i == len(ts):
        return vs[-1]
    t1, t2, v1, v2 = ts[i - 1], ts[i], vs[i - 1], vs[i]
    return v1 + (v2 - v1) * (t - t1) / (t2 - t1) if t2 > t1 else v2


def reached_at(ts, vs, v):
    """First instant the non-decreasing series (ts, vs) reaches v,
    interpolated between the samples around the crossing; None if never."""
    i = bisect.bisect_left(vs, v)
    if i == len(vs):
        return None
    if i == 0 or vs[i] == vs[i - 1]:
        return ts[i]
    return ts[i - 1] + (ts[i] - ts[i - 1]) * (v - vs[i - 1]) / (vs[i] - vs[i - 1])


def timed_offset(c):
    t1 = time.monotonic()
    off = repl_offset(c)
    return (t1 + time.monotonic()) / 2, off


def lag_under_load(name, rep, pipeline, mport, m, rport, samples):
    rc = Conn(rport, TIMEOUT)
    wait_caught_up(m, rc, time.monotonic(), f"{name} before the load")
    mt, mv, rt, rv = [], [], [], []
    bench = subprocess.Popen(["redis-benchmark", "-h", "127.0.0.1", "-p", str(mport), "-t", "set",
                              "-c", str(C), "-P", str(pipeline), "-n", str(REPL_N), "-r", str(KEYS),
                              "-d", str(VALSIZE), "--csv"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    t_start = time.monotonic()
    t_end = None
    nxt = t_start
    try:
        while True:
            running = bench.poll() is None
            if not running and t_end is None:
                t_end = time.monotonic()
            t, v = timed_offset(m)
            mt.append(t)
            mv.append(v)
            t, v = timed_offset(rc)
            rt.append(t)
            rv.append(v)
            if not running and rv[-1] >= mv[-1]:
                break
            if not running and time.monotonic() - t_end > 120:
                fail(f"{name}: replica did not catch up within 120 s after the load")
            nxt += POLL
            time.sleep(max(0.0, nxt - time.monotonic()))
    finally:
        if bench.poll() is None:
            bench.kill()
        out = bench.communicate()[0]
        rc.close()
    rps = bench_rps(out)
    if rps is None:
        fail(f"{name}: redis-benchmark -P {pipeline} failed: {out}")
    # the replica's offset never decreases; a sample taken just before an
    # apply finished may not show it yet, so take the running maximum
    for i in range(1, len(rv)):
        rv[i] = max(rv[i], rv[i - 1])
    byte_lag = [max(0.0, interp(mt, mv, t) - v) for t, v in zip(rt, rv) if t_start <= t <= t_end]
    time_lag = []
    for t, v in zip(mt, mv):
        if t_start <= t <= t_end:
            t_reached = reached_at(rt, rv, v)
            time_lag.append(max(0.0, t_reached - t))
    if not byte_lag or not time_lag:
        fail(f"{name}: no samples during the -P {pipeline} load (REPL_N too small?)")
    for kind, ts, vs in (("master", mt, mv), ("replica", rt, rv)):
        for t, v in zip(ts, vs):
            samples.append((name, rep, pipeline, kind, f"{t - t_start:.4f}", v))
    return {f"p{pipeline}_rps": rps,
            f"p{pipeline}_byte_lag_p50": statistics.median(byte_lag),
            f"p{pipeline}_byte_lag_p99": percentile(byte_lag, 99),
            f"p{pipeline}_time_lag_p50_ms": statistics.median(time_lag) * 1000,
            f"p{pipeline}_time_lag_p99_ms": percentile(time_lag, 99) * 1000,
            f"p{pipeline}_catchup_ms": max(0.0, reached_at(rt, rv, mv[-1]) - t_end) * 1000,
            f"p{pipeline}_samples": len(time_lag)}


def run_server(name, rep, resp, gap_resp, samples):
    res = {}
    mp, mport = start_ready(name, fresh_dir(f"{name}-{rep}-master"))
    replicas = []
    try:
        fill(mport, resp, KEYS)
        m = Conn(mport, TIMEOUT)
        rport = None
        if not os.environ.get("SKIP_FULLSYNC"):
            for mode in ("disk", "diskless"):
                dt, rp, rport = full_sync(name, rep, mode, mport, m)
                replicas.append(rp)
                res[f"fullsync_{mode}_s"] = dt
                log(f"{name} rep {rep}: {mode} full sync of {KEYS} keys in {dt:.3f} s")
                if mode == "disk":
                    stop(rp)
        else:
            _, rp, rport = full_sync(name, rep, "diskless", mport, m)
            replicas.append(rp)
        if not os.environ.get("SKIP_PARTIAL"):
            pr = partial_resync(name, m, mport, rp, rport, gap_resp)
            res.update(pr)
            log(f"{name} rep {rep}: partial resync after {GAP} SETs: stream "
                f"{pr['psync_stream_bytes']} bytes, replica link received {pr['psync_wire_bytes']} bytes "
                f"(INFO total_net_repl_input_bytes +{pr['psync_net_repl_input_bytes']}), {pr['psync_s']:.3f} s")
        if not os.environ.get("SKIP_LAG"):
            for pipeline in PIPELINES:
                lr = lag_under_load(name, rep, pipeline, mport, m, rport, samples)
                res.update(lr)
                log(f"{name} rep {rep}: -P {pipeline}: {lr[f'p{pipeline}_rps']:.0f} SET/s, byte lag "
                    f"p50 {lr[f'p{pipeline}_byte_lag_p50']:.0f} p99 {lr[f'p{pipeline}_byte_lag_p99']:.0f}, "
                    f"time lag p50 {lr[f'p{pipeline}_time_lag_p50_ms']:.1f} ms "
                    f"p99 {lr[f'p{pipeline}_time_lag_p99_ms']:.1f} ms")
        m.close()
    finally:
        for p in replicas:
            stop(p)
        stop(mp)
        shutil.rmtree(os.path.join(WORK, f"{name}-{rep}-master"), ignore_errors=True)
    return res


def main():
    resp = os.path.join(WORK, "keys.resp")
    make_resp(resp, KEYS, VALSIZE)
    gap_resp = os.path.join(WORK, "gap.resp")
    make_resp(gap_resp, GAP, VALSIZE, seed=7)
    rows, samples = [], []
    try:
        for rep in range(1, R + 1):
            order = ["picket", "redis"] if rep % 2 else ["redis", "picket"]
            for s in order:
                for k, v in run_server(s, rep, resp, gap_resp, samples).items():
                    rows.append((s, k, rep, v))
                for d in os.listdir(WORK):
                    if d.startswith(f"{s}-{rep}-"):
                        shutil.rmtree(os.path.join(WORK, d), ignore_errors=True)
    finally:
        SERVERS.kill_all()
        shutil.rmtree(WORK, ignore_errors=True)
    with open(OUT_CSV, "w") as f:
        f.write("server,metric,rep,value\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    base, ext = os.path.splitext(OUT_CSV)
    with open(f"{base}-samples{ext}", "w") as f:
        f.write("server,rep,pipeline,instance,t_s,master_repl_offset\n")
        for r in samples:
            f.write(",".join(str(x) for x in r) + "\n")
    report(rows)


def report(rows):
    def med(s, m):
        v = [x for (srv, met, _, x) in rows if srv == s and met == m]
        return statistics.median(v) if v else None

    def line(label, m, fmt, scale=1.0, better="lower"):
        a, b = med("picket", m), med("redis", m)
        if a is None or b is None:
            return None
        ratio = f"{a / b:.2f}" if b else "n/a"
        return f"| {label} | {fmt.format(a * scale)} | {fmt.format(b * scale)} | {ratio} | {better} |"

    out = [f"\n### Replication: master → one replica, {KEYS:,} keys, {VALSIZE}-byte values, median of {R} runs\n",
           "Picket master → picket replica against redis master → redis replica, both with "
           f"repl-diskless-sync-delay 0 and repl-backlog-size {BACKLOG}; method in bench/repl.py. "
           "Full sync: REPLICAOF sent to a fresh empty replica until its INFO says "
           "master_link_status:up with master_repl_offset equal to the master's (10 ms polls). "
           f"Partial resync: replica frozen (SIGSTOP), dropped by the master (CLIENT KILL TYPE replica), "
           f"{GAP:,} SETs piped to the master, replica resumed; stream = master offset delta, received = "
           "TCP bytes_received (`ss -ti`) of the replica's new connection to the master once caught up, "
           "handshake included; sync_partial_ok +1 "
           "and sync_full +0 checked. Lag: redis-benchmark -t set "
           f"-c {C} -n {REPL_N:,} -r {KEYS} -d {VALSIZE} against the master while master_repl_offset of "
           "master and replica are read every 10 ms; byte lag = master offset interpolated at the "
           "replica sample's instant − replica offset; time lag = interpolated instant the replica "
           "reached a master sample's offset − that sample's instant; median and p99 over the samples "
           "of a run.\n",
           "| metric | picket | redis | ratio picket/redis | better |",
           "| --- | ---: | ---: | ---: | --- |"]
    lines = [
        line("full sync, disk (s)", "fullsync_disk_s", "{:.3f}"),
        line("full sync, diskless (s)", "fullsync_diskless_s", "{:.3f}"),
        line(f"partial resync after {GAP:,} SETs: stream (bytes)", "psync_stream_bytes", "{:,.0f}"),
        line("partial resync: bytes received on the new link", "psync_wire_bytes", "{:,.0f}"),
        line("partial resync: SIGCONT to caught up (s)", "psync_s", "{:.3f}"),
    ]
    for p in PIPELINES:
        lines += [
            line(f"SET rps with one replica, -P {p}", f"p{p}_rps", "{:,.0f}", better="higher"),
            line(f"byte lag p50, -P {p} (bytes)", f"p{p}_byte_lag_p50", "{:,.0f}"),
            line(f"byte lag p99, -P {p} (bytes)", f"p{p}_byte_lag_p99", "{:,.0f}"),
            line(f"time lag p50, -P {p} (ms)", f"p{p}_time_lag_p50_ms", "{:.1f}"),
            line(f"time lag p99, -P {p} (ms)", f"p{p}_time_lag_p99_ms", "{:.1f}"),
            line(f"catch-up after the load ends, -P {p} (ms)", f"p{p}_catchup_ms", "{:.1f}"),
        ]
    out += [l for l in lines if l]
    with open(OUT_MD, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
