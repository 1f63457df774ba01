#!/usr/bin/env python3
"""Persistence section of bench/compare.sh: picket-server against
redis-server, side by side in one run, same bytes, same method.

For each of R repetitions (who goes first alternates), for each server:
  save/size/load  fresh server, KEYS keys loaded with `redis-cli --pipe`,
                  wall time of one `SAVE` request, size of dump.rdb, then a
                  new process started on that file: wall time from spawn
                  until `INFO persistence` says loading:0 (polled every
                  10 ms over one connection; connection refused counts as
                  still starting).
  bgsave peak RSS fresh server, same KEYS keys, a redis-benchmark SET load
                  overwriting those keys (-r KEYS, so the data set does not
                  grow) while BGSAVE runs; every 10 ms VmRSS of the server
                  and of each of its child processes is read, and the peak
                  of the sum is reported. The sum counts pages shared
                  copy-on-write twice: it is the bound the kernel may have to
                  provide, and it is what `ps`/monitoring adds up, not the
                  physical pages in use (PSS would be, but reading smaps
                  every 10 ms of a large process distorts the run).
  AOF throughput  redis-benchmark -t set -P 1 -c C -n N against a server
                  started with --appendonly yes and --appendfsync always,
                  then everysec (fresh server and empty dir for each).
Medians of the R runs; ratios are picket / redis (lower is better for time,
size and memory; higher is better for throughput).

usage: persist.py PICKET_BIN OUT_CSV OUT_MD  (settings from the environment:
KEYS, VALSIZE, R, C, N, PERSIST_VALUES=random|x, PICKET_ARGS, SKIP_AOF=1,
SKIP_BGSAVE=1)
"""
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import Conn, Servers, bench_rps, children, fail, fill, log, make_resp, rss_kb, stop, wait_loaded

PICKET, OUT_CSV, OUT_MD = sys.argv[1:4]
KEYS = int(os.environ.get("KEYS", "1000000"))
VALSIZE = int(os.environ.get("VALSIZE", "100"))
R = int(os.environ.get("R", "3"))
C = int(os.environ.get("C", "50"))
N = int(os.environ.get("N", "100000"))
VALUES = os.environ.get("PERSIST_VALUES", "random")
SERVERS = Servers(PICKET, shlex.split(os.environ.get("PICKET_ARGS", "")))
start = SERVERS.start
WORK = tempfile.mkdtemp(prefix="persist-")
AOF_OFF = set()  # servers that did not report aof_enabled:1


def run_save_load(name, resp):
    d = os.path.join(WORK, f"{name}-save")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p, port, t0 = start(name, d, ["--appendonly", "no"])
    wait_loaded(p, port, t0)
    fill(port, resp, KEYS)
    c = Conn(port)
    t = time.monotonic()
    r = c.cmd("SAVE")
    save_s = time.monotonic() - t
    c.close()
    if r != "OK":
        fail(f"{name} SAVE: {r}")
    size = os.path.getsize(os.path.join(d, "dump.rdb"))
    stop(p)
    p, port, t0 = start(name, d, ["--appendonly", "no"])
    load_s = wait_loaded(p, port, t0)
    c = Conn(port)
    n = c.cmd("DBSIZE")
    c.close()
    stop(p)
    if str(n) != str(KEYS):
        fail(f"{name} loaded {n} keys, expected {KEYS}")
    return save_s, size, load_s


def run_bgsave_rss(name, resp):
    d = os.path.join(WORK, f"{name}-bgsave")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p, port, t0 = start(name, d, ["--appendonly", "no"])
    wait_loaded(p, port, t0)
    fill(port, resp, KEYS)
    base = rss_kb(p.pid)
    bench = subprocess.Popen(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set",
                              "-c", str(C), "-n", "100000000", "-r", str(KEYS), "-d", str(VALSIZE), "-q"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        c = Conn(port)
        r = c.cmd("BGSAVE")
        t = time.monotonic()
        if isinstance(r, Exception):
            fail(f"{name} BGSAVE: {r}")
        peak = peak_parent = peak_child = 0
        forked = False
        while True:
            kids = children(p.pid)
            forked |= bool(kids)
            parent = rss_kb(p.pid)
            kid = sum(rss_kb(k) for k in kids)
            peak = max(peak, parent + kid)
            peak_parent = max(peak_parent, parent)
            peak_child = max(peak_child, kid)
            if c.info("persistence").get("rdb_bgsave_in_progress") == "0":
                break
            time.sleep(0.01)
        dur = time.monotonic() - t
        ok = c.info("persistence").get("rdb_last_bgsave_status")
        c.close()
    finally:
        bench.send_signal(signal.SIGINT)
        try:
            bench.wait(5)
        except subprocess.TimeoutExpired:
            bench.kill()
            bench.wait()
        stop(p)
    if ok != "ok":
        fail(f"{name} BGSAVE status {ok}")
    if not forked:
        log(f"{name}: no child process seen during BGSAVE (saved in the foreground?)")
    return base, peak, peak_parent, peak_child, dur


def run_aof(name, fsync):
    d = os.path.join(WORK, f"{name}-aof-{fsync}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    p, port, t0 = start(name, d, ["--appendonly", "yes", "--appendfsync", fsync])
    try:
        wait_loaded(p, port, t0)
        c = Conn(port)
        enabled = c.info("persistence").get("aof_enabled")
        c.close()
        if enabled != "1":
            AOF_OFF.add(name)
        out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set",
                              "-c", str(C), "-n", str(N), "-P", "1", "--csv"],
                             capture_output=True, text=True).stdout
    finally:
        stop(p)
    rps = bench_rps(out)
    if rps is None:
        fail(f"{name} AOF {fsync} benchmark failed: {out}")
    return rps


def main():
    resp = os.path.join(WORK, "persist.resp")
    make_resp(resp, KEYS, VALSIZE, VALUES)
    rows = []
    try:
        for rep in range(1, R + 1):
            order = ["picket", "redis"] if rep % 2 else ["redis", "picket"]
            for s in order:
                save_s, size, load_s = run_save_load(s, resp)
                rows += [(s, "save_s", rep, save_s), (s, "rdb_bytes", rep, size), (s, "load_s", rep, load_s)]
                log(f"{s} rep {rep}: SAVE {save_s:.3f} s, {size} bytes, load {load_s:.3f} s")
            if not os.environ.get("SKIP_BGSAVE"):
                for s in order:
                    base, peak, pp, pc, dur = run_bgsave_rss(s, resp)
                    rows += [(s, "bgsave_rss_before_kb", rep, base), (s, "bgsave_peak_rss_kb", rep, peak),
                             (s, "bgsave_peak_parent_kb", rep, pp), (s, "bgsave_peak_child_kb", rep, pc),
                             (s, "bgsave_s", rep, dur)]
                    log(f"{s} rep {rep}: BGSAVE {dur:.2f} s, RSS {base} kB before, peak sum {peak} kB")
            if not os.environ.get("SKIP_AOF"):
                for fsync in ("always", "everysec"):
                    for s in order:
                        rps = run_aof(s, fsync)
                        rows.append((s, f"aof_{fsync}_rps", rep, rps))
                        log(f"{s} rep {rep}: SET with appendfsync {fsync}: {rps:.0f} rps")
    finally:
        SERVERS.kill_all()
        shutil.rmtree(WORK, ignore_errors=True)
    with open(OUT_CSV, "w") as f:
        f.write("server,metric,rep,value\n")
        for r in rows:
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

    out = [f"\n### Persistence: {KEYS:,} keys, {VALSIZE}-byte values ({VALUES}), median of {R} runs\n",
           "Same `redis-cli --pipe` input for both (`SET key:%012d <value>`); defaults otherwise "
           "(rdbcompression, rdbchecksum yes). SAVE: wall time of the request. Load: wall time from "
           "spawning the server on the saved file until `INFO persistence` says loading:0 (polled "
           "every 10 ms). BGSAVE peak RSS: max over 10 ms samples of VmRSS(server) + VmRSS(children) "
           f"while a redis-benchmark SET load (-c {C}, -r {KEYS}, overwriting the keys) runs; shared "
           "copy-on-write pages count twice, as `ps` would add them. AOF: redis-benchmark -t set -P 1 "
           f"-c {C} -n {N} against a fresh server with --appendonly yes.\n",
           "| metric | picket | redis | ratio picket/redis | better |",
           "| --- | ---: | ---: | ---: | --- |"]
    for l in (
        line("SAVE time (s)", "save_s", "{:.3f}"),
        line("RDB size (MB)", "rdb_bytes", "{:.1f}", 1e-6),
        line("load at start-up (s)", "load_s", "{:.3f}"),
        line("RSS before BGSAVE (MiB)", "bgsave_rss_before_kb", "{:.1f}", 1 / 1024),
        line("BGSAVE peak RSS, server + child (MiB)", "bgsave_peak_rss_kb", "{:.1f}", 1 / 1024),
        line("BGSAVE peak RSS, server alone (MiB)", "bgsave_peak_parent_kb", "{:.1f}", 1 / 1024),
        line("BGSAVE peak RSS, child alone (MiB)", "bgsave_peak_child_kb", "{:.1f}", 1 / 1024),
        line("BGSAVE duration under load (s)", "bgsave_s", "{:.2f}"),
        line("SET rps, appendfsync always", "aof_always_rps", "{:,.0f}", better="higher"),
        line("SET rps, appendfsync everysec", "aof_everysec_rps", "{:,.0f}", better="higher"),
    ):
        if l:
            out.append(l)
    for s in sorted(AOF_OFF):
        out.append(f"\nNote: {s} started with --appendonly yes but INFO persistence did not say "
                   "aof_enabled:1, so its AOF figures measure no AOF at all.")
    with open(OUT_MD, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
