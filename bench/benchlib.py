"""Helpers shared by the Python sections of bench/compare.sh (persist.py,
repl.py): start picket-server / redis-server on free loopback ports in a
given directory, speak enough RESP to read INFO, load the same key set into
either server, read VmRSS and /proc I/O counters.

Errors abort the run with SystemExit prefixed by the calling script's name.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import time

PROG = os.path.basename(sys.argv[0])


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    raise SystemExit(f"{PROG}: {msg}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Conn:
    """One RESP connection; enough of the protocol for these replies.
    `sent` counts the request bytes written, so a caller can subtract its
    own traffic from the server's read counters."""

    def __init__(self, port, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")
        self.sent = 0

    def cmd(self, *args):
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        req = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.s.sendall(req)
        self.sent += len(req)
        return self.reply()

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t in (b"+", b":"):
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode(errors="replace")
        raise ValueError(f"unexpected reply {line!r}")

    def info(self, section):
        r = self.cmd("INFO", section)
        if isinstance(r, Exception):
            return {}
        return dict(l.split(":", 1) for l in r.split("\r\n") if ":" in l and not l.startswith("#"))

    def close(self):
        self.s.close()


class Servers:
    """Starts servers by name ("picket" or "redis") and remembers every
    process, so kill_all() leaves nothing behind whatever went wrong."""

    def __init__(self, picket_bin, picket_args=()):
        self.bins = {"picket": picket_bin, "redis": shutil.which("redis-server") or "redis-server"}
        self.picket_args = list(picket_args)
        self.procs = []

    def start(self, name, d, extra=()):
        """Spawns NAME with --dir D on a free port, no RDB snapshots;
        returns (process, port, spawn time)."""
        port = free_port()
        args = [self.bins[name], "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                "--save", "", "--daemonize", "no"]
        args += list(extra)
        if name == "picket":
            args += self.picket_args
        t0 = time.monotonic()
        p = subprocess.Popen(args, stdout=open(os.path.join(d, "log"), "a"), stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p, port, t0

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def wait_loaded(p, port, t0, limit=300):
    """Seconds from spawn until INFO persistence reports loading:0 (polled
    every 10 ms; connection refused counts as still starting)."""
    c = None
    while time.monotonic() - t0 < limit:
        if p.poll() is not None:
            fail(f"server exited with {p.returncode} while starting")
        try:
            if c is None:
                c = Conn(port)
            if c.info("persistence").get("loading") == "0":
                dt = time.monotonic() - t0
                c.close()
                return dt
        except OSError:
            c = None
        time.sleep(0.01)
    fail("server did not finish loading")


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def fill(port, resp, keys):
    """Sends the RESP file through `redis-cli --pipe`; it must hold KEYS
    commands that all succeed."""
    with open(resp, "rb") as f:
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                             stdin=f, capture_output=True, text=True).stdout
    if f"errors: 0, replies: {keys}" not in out:
        fail(f"loading keys failed: {out}")


def make_resp(path, keys, valsize, values="random", first=0, seed=42):
    """KEYS × SET key:%012d <VALSIZE bytes>, key numbers from FIRST
    (redis-benchmark's key names, so its -r KEYS load overwrites these
    keys). Values are seeded random alphanumerics (LZF cannot shrink them,
    as with most real data) or, with values="x", all 'x' (the most
    compressible case)."""
    rnd = random.Random(seed)
    alpha = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/" * 4)
    table = bytes(alpha[i] for i in range(256))
    with open(path, "wb") as out:
        batch = 10000
        for start_i in range(0, keys, batch):
            n = min(batch, keys - start_i)
            if values == "x":
                vals = b"x" * (valsize * n)
            else:
                vals = rnd.randbytes(valsize * n).translate(table)
            chunk = []
            for j in range(n):
                k = b"key:%012d" % (first + start_i + j)
                v = vals[j * valsize:(j + 1) * valsize]
                chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, valsize, v))
            out.write(b"".join(chunk))


def children(pid):
    kids = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                kids += [int(x) for x in f.read().split()]
        return kids
    except OSError:
        pass
    for d in os.listdir("/proc"):  # no /proc/<pid>/task/*/children
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
    except OSError:
        pass
    return 0


def proc_io(pid):
    """/proc/<pid>/io as a dict (rchar: bytes returned by read-like system
    calls of all threads, sockets included)."""
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (l.split(":") for l in f if ":" in l)}


def bench_rps(out):
    """Requests per second from redis-benchmark --csv output (first test)."""
    for l in out.splitlines():
        if l.startswith('"') and not l.startswith('"test"'):
            return float(l.split(",")[1].strip('"'))
    return None
