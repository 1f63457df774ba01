#!/usr/bin/env python3
"""Sentinel section of bench/compare.sh: how fast three picket-sentinels
fail over a killed master, against three redis-sentinels, same topology,
same settings, same clients, in one run.

Topology per trial: one master and two replicas of redis-server (or, for
the PICKET_DATA=1 configuration, of picket-server), each started empty with
--save "" --appendonly no --repl-diskless-sync-delay 0 in a fresh
directory; three sentinels of one kind, each with its own config file:

    sentinel monitor mymaster 127.0.0.1 <master port> 2
    sentinel down-after-milliseconds mymaster 1000
    sentinel failover-timeout mymaster 10000

A trial starts once both replicas report master_link_status:up and every
sentinel's SENTINEL MASTER says num-slaves 2 and num-other-sentinels 2
(replicas found through INFO, sentinels through hellos), plus SETTLE
seconds (default 1) plus a random 0-2 s, so the kill lands at a random
point of the sentinels' 1 s PING and 2 s hello cycles (without it the
moment is tied to those cycles and repeats from trial to trial). One
connection per sentinel is then subscribed to +switch-master. The master
is killed with SIGKILL; the clock starts right before the kill.

  switch   seconds until the first +switch-master message on any of the
           three subscriptions (the leader publishes it at the end of its
           failover; the others when its hello reaches them).
  write    seconds until the first successful SET by a client that knows
           only the sentinels: every 10 ms it asks each sentinel in turn
           SENTINEL GET-MASTER-ADDR-BY-NAME and sends SET to every address
           it is given (a fresh connection after any error; the dead
           master refuses connections, a replica answers -READONLY) until
           one answers +OK. A sentinel answers with the promoted replica
           from the leader's reconf-slaves state on, so this can come
           before +switch-master.

Per trial the sentinel logs are kept to break the failover into steps: the
time from the kill to the first log line (any sentinel) of +sdown (master),
+odown, +try-failover, +elected-leader, +selected-slave,
+failover-state-wait-promotion, +promoted-slave and +switch-master (log
timestamps are wall-clock milliseconds, read against the wall clock at the
kill; Redis and picket log in the same format).

Trials alternate which kind goes first. The table shows the median, min
and max over R trials, and the ratio of medians picket / redis (lower is
better).

usage: sentinel.py PICKET_SENTINEL_BIN PICKET_SERVER_BIN OUT_CSV OUT_MD
(settings from the environment: R (default 5), PICKET_DATA=1 adds picket-
sentinel over picket-server, SETTLE (1)). OUT_CSV gets one row per trial
and metric; the step timeline goes to OUT_CSV with `-steps` before the
extension.
"""
import calendar
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import Conn, Servers, fail, free_port, log, stop

PICKET_SENTINEL, PICKET_SERVER, OUT_CSV, OUT_MD = (os.path.abspath(a) for a in sys.argv[1:5])
R = int(os.environ.get("R", "5"))
PICKET_DATA = os.environ.get("PICKET_DATA", "") not in ("", "0")
SETTLE = float(os.environ.get("SETTLE", "1"))
WORK = tempfile.mkdtemp(prefix="sentinel-")
NAME = "mymaster"
DOWN_AFTER = 1000
FAILOVER_TIMEOUT = 10000
POLL = 0.01
LIMIT = 60  # seconds for a failover before the trial is declared failed
STEPS = ["+sdown", "+odown", "+try-failover", "+elected-leader", "+selected-slave",
         "+failover-state-wait-promotion", "+promoted-slave", "+switch-master"]
# (label, sentinel kind, data node kind)
CONFIGS = [("picket", "picket", "redis"), ("redis", "redis", "redis")]
if PICKET_DATA:
    CONFIGS.append(("picket/picket-server", "picket", "picket"))


class RConn(Conn):
    """benchlib.Conn plus arrays (SENTINEL replies, pub/sub messages) and a
    short default timeout."""

    def __init__(self, port, timeout=5):
        super().__init__(port, timeout)

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if t in (b"+", b":"):
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode(errors="replace")
        raise ValueError(f"unexpected reply {line!r}")


def ask(port, *args):
    """One command on a fresh connection."""
    c = RConn(port)
    try:
        return c.cmd(*args)
    finally:
        c.close()


def start_sentinel(bin_path, d, master_port, procs):
    port = free_port()
    conf = os.path.join(d, f"sentinel-{port}.conf")
    with open(conf, "w") as f:
        f.write(f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {d}\n"
                f"sentinel monitor {NAME} 127.0.0.1 {master_port} 2\n"
                f"sentinel down-after-milliseconds {NAME} {DOWN_AFTER}\n"
                f"sentinel failover-timeout {NAME} {FAILOVER_TIMEOUT}\n")
    logf = os.path.join(d, f"sentinel-{port}.log")
    p = subprocess.Popen([bin_path, conf], cwd=d, stdout=open(logf, "w"),
                         stderr=subprocess.STDOUT)
    procs.append(p)
    return port, logf


def wait(what, cond, limit=30):
    t0 = time.monotonic()
    while True:
        try:
            if cond():
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() - t0 > limit:
            fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def master_fields(port):
    r = ask(port, "SENTINEL", "MASTER", NAME)
    if not isinstance(r, list):
        return {}
    return dict(zip(r[0::2], r[1::2]))


def subscriber(port, seen, ready):
    """Records (monotonic time, payload) of every +switch-master message
    on one sentinel until its connection is closed."""
    c = RConn(port, timeout=None)
    c.cmd("SUBSCRIBE", "+switch-master")
    ready.append(c)
    try:
        while True:
            m = c.reply()
            if isinstance(m, list) and len(m) == 3 and m[0] == "message":
                seen.append((time.monotonic(), m[2]))
    except (OSError, ValueError, ConnectionError):
        pass


def try_set(conns, addr, value):
    """SET through the server at addr (ip, port); True on +OK."""
    c = conns.get(addr)
    try:
        if c is None:
            c = conns[addr] = RConn(int(addr[1]), timeout=0.5)
        return c.cmd("SET", "bench:failover", value) == "OK"
    except (OSError, ValueError, ConnectionError):
        if c is not None:
            try:
                c.close()
            except OSError:
                pass
        conns.pop(addr, None)
        return False


def first_write(sentinel_ports, t0, value):
    """Seconds from t0 until a SET succeeds on an address a sentinel gave."""
    sconns, dconns = {}, {}
    try:
        while time.monotonic() - t0 < LIMIT:
            tick = time.monotonic()
            for sp in sentinel_ports:
                try:
                    c = sconns.get(sp) or sconns.setdefault(sp, RConn(sp, timeout=0.5))
                    addr = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
                except (OSError, ValueError, ConnectionError):
                    sconns.pop(sp, None)
                    continue
                if isinstance(addr, list) and len(addr) == 2 and try_set(dconns, tuple(addr), value):
                    return time.monotonic() - t0, f"{addr[0]}:{addr[1]}"
            time.sleep(max(0.0, POLL - (time.monotonic() - tick)))
    finally:
        for c in list(sconns.values()) + list(dconns.values()):
            try:
                c.close()
            except OSError:
                pass
    fail(f"no successful write within {LIMIT} s of the kill")


LOG_RE = re.compile(r"^\d+:X (\d+ \w{3} \d{4} \d\d:\d\d:\d\d)\.(\d{3}) [.\-*#] (\S+)(.*)$")


def log_steps(logs, wall0):
    """Seconds from the kill (wall clock wall0) to the first log line of each
    step in any of the logs; the +sdown counted is the master's."""
    first = {}
    for path in logs:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_RE.match(line.rstrip("\n"))
                if not m or m.group(3) not in STEPS:
                    continue
                ev, rest = m.group(3), m.group(4)
                if ev == "+sdown" and not rest.startswith(" master "):
                    continue
                t = calendar.timegm(time.strptime(m.group(1), "%d %b %Y %H:%M:%S")) + int(m.group(2)) / 1000
                if t >= wall0 - 0.002:
                    first[ev] = min(first.get(ev, t), t)
    return {ev: first[ev] - wall0 for ev in first}


def trial(label, skind, dkind, rep, servers):
    d = os.path.join(WORK, f"{label.replace('/', '-')}-{rep}")
    os.makedirs(d)
    sbin = PICKET_SENTINEL if skind == "picket" else (shutil.which("redis-sentinel") or "redis-sentinel")
    common = ["--appendonly", "no", "--repl-diskless-sync-delay", "0"]
    procs = []
    subs = []
    try:
        dirs = []
        for i in range(3):
            dirs.append(os.path.join(d, f"node{i}"))
            os.makedirs(dirs[-1])
        mp, mport, _ = servers.start(dkind, dirs[0], common)
        wait("the master", lambda: ask(mport, "PING") == "PONG", 10)
        rports = []
        for i in (1, 2):
            _, rport, _ = servers.start(dkind, dirs[i], common + ["--replicaof", "127.0.0.1", str(mport)])
            rports.append(rport)
        for rp in rports:
            wait("a replica to sync",
                 lambda rp=rp: "master_link_status:up\r" in ask(rp, "INFO", "replication"))
        sports, logs = [], []
        for _ in range(3):
            sp, lf = start_sentinel(sbin, d, mport, procs)
            sports.append(sp)
            logs.append(lf)
        for sp in sports:
            wait(f"{skind} sentinel {sp} to discover the group", lambda sp=sp: (
                (lambda f: f.get("num-slaves") == "2" and f.get("num-other-sentinels") == "2")(master_fields(sp))))
        time.sleep(SETTLE + random.uniform(0, 2))
        seen, ready = [], []
        for sp in sports:
            threading.Thread(target=subscriber, args=(sp, seen, ready), daemon=True).start()
        wait("the subscriptions", lambda: len(ready) == 3, 10)
        subs = ready
        wall0 = time.time()
        t0 = time.monotonic()
        mp.send_signal(signal.SIGKILL)
        write_s, write_addr = first_write(sports, t0, f"{label}-{rep}")
        wait("+switch-master", lambda: bool(seen), LIMIT)
        switch_s = min(t for t, _ in seen) - t0
        new = seen[0][1].split()
        if len(new) != 5 or f"{new[3]}:{new[4]}" != write_addr:
            fail(f"{label} trial {rep}: wrote to {write_addr}, +switch-master said {seen[0][1]!r}")
        # let every sentinel log its switch before reading the logs
        wait("every sentinel's switch", lambda: len(seen) >= 3, 30)
        steps = log_steps(logs, wall0)
        mp.wait()
        return {"switch_s": switch_s, "write_s": write_s}, steps
    finally:
        for c in subs:
            try:
                c.s.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        for p in procs:
            stop(p)
        servers.kill_all()
        servers.procs.clear()
        shutil.rmtree(d, ignore_errors=True)


def main():
    servers = Servers(PICKET_SERVER)
    rows, steps = [], []
    try:
        for rep in range(1, R + 1):
            order = CONFIGS if rep % 2 else list(reversed(CONFIGS))
            for label, skind, dkind in order:
                res, st = trial(label, skind, dkind, rep, servers)
                log(f"{label} trial {rep}/{R}: +switch-master {res['switch_s']:.3f} s, "
                    f"first write {res['write_s']:.3f} s")
                for k, v in res.items():
                    rows.append((label, k, rep, v))
                for ev in STEPS:
                    if ev in st:
                        steps.append((label, ev, rep, st[ev]))
    finally:
        servers.kill_all()
        shutil.rmtree(WORK, ignore_errors=True)
    with open(OUT_CSV, "w") as f:
        f.write("config,metric,rep,seconds\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    base, ext = os.path.splitext(OUT_CSV)
    with open(f"{base}-steps{ext}", "w") as f:
        f.write("config,event,rep,seconds_after_kill\n")
        for r in steps:
            f.write(",".join(str(x) for x in r) + "\n")
    report(rows, steps)


def report(rows, steps):
    labels = [c[0] for c in CONFIGS]

    def vals(table, label, key):
        return [v for (l, k, _, v) in table if l == label and k == key]

    def cell(xs):
        if not xs:
            return "n/a"
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}–{max(xs):.3f})"

    def ratio(a, b):
        if not a or not b:
            return "n/a"
        return f"{statistics.median(a) / statistics.median(b):.2f}"

    head = "| metric (s after SIGKILL) | " + " | ".join(f"{l} median (min–max)" for l in labels)
    head += " | ratio picket/redis |"
    if PICKET_DATA:
        head += " ratio picket+picket-server/redis |"
    sep = "| --- |" + " ---: |" * (len(labels) + 1 + (1 if PICKET_DATA else 0))
    out = [f"\n### Sentinel failover: 1 master + 2 replicas, 3 sentinels, {R} trials each\n",
           "redis-server data nodes (--save \"\" --appendonly no --repl-diskless-sync-delay 0), "
           f"quorum 2, down-after-milliseconds {DOWN_AFTER}, failover-timeout {FAILOVER_TIMEOUT}; "
           "three picket-sentinels against three redis-sentinels"
           + (", and picket-sentinels over picket-server data nodes" if PICKET_DATA else "")
           + ". The master gets SIGKILL; switch = first +switch-master on any sentinel's "
           "subscription; write = first +OK to a SET from a client that asks every sentinel "
           "SENTINEL GET-MASTER-ADDR-BY-NAME every 10 ms and writes to what it is told. "
           "Steps: first line of that event in any sentinel's log. Method in bench/sentinel.py.\n",
           head, sep]

    def line(name, table, key):
        cols = [cell(vals(table, l, key)) for l in labels]
        r = [ratio(vals(table, "picket", key), vals(table, "redis", key))]
        if PICKET_DATA:
            r.append(ratio(vals(table, labels[2], key), vals(table, "redis", key)))
        return f"| {name} | " + " | ".join(cols + r) + " |"

    out.append(line("**+switch-master**", rows, "switch_s"))
    out.append(line("**first write via the sentinels**", rows, "write_s"))
    for ev in STEPS:
        out.append(line(f"step: {ev}", steps, ev))
    with open(OUT_MD, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
