"""redis-py through Sentinel, as an application uses it (ha-tests/tests/clients.rs).

usage: python3 redis_py_loop.py SENTINELS MASTER KEY SECONDS
  SENTINELS  comma-separated host:port list

A writer thread adds unique elements (SADD KEY n, n = 1, 2, ...) through
`Sentinel.master_for`; a reader thread reads (SCARD KEY) through
`Sentinel.slave_for`. One JSON line per operation on stdout:
  {"t": unix time (float, time.time()), "op": "w"|"r", "n": element or null,
   "addr": "ip:port" of the connection that answered (null if none),
   "ok": bool, "err": null | "READONLY" | exception class name, "msg": text}
The address is the one of the SentinelManagedConnection that read the reply
(or failed): what redis-py's own discovery picked.
"""

import json
import sys
import threading
import time

import redis
from redis.sentinel import Sentinel, SentinelManagedConnection

SOCKET_TIMEOUT = 0.5
PAUSE = 0.005

out_lock = threading.Lock()
# The address each thread's last reply came from (one connection per thread).
last_addr = threading.local()


def emit(**rec):
    rec["t"] = time.time()
    line = json.dumps(rec)
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Tracked(SentinelManagedConnection):
    """Notes which address answered (redis-py's own connection class otherwise)."""

    def read_response(self, *args, **kwargs):
        last_addr.value = f"{self.host}:{self.port}" if self.host else None
        return super().read_response(*args, **kwargs)


def classify(e):
    text = str(e)
    # redis-py turns -READONLY on a master connection into
    # ConnectionError("The previous master is now a slave").
    if "READONLY" in text or "previous master is now a slave" in text:
        return "READONLY"
    return type(e).__name__


def run(client, op, key, until):
    n = 0
    while time.time() < until:
        last_addr.value = None
        if op == "w":
            n += 1
            elem = n
        else:
            elem = None
        try:
            if op == "w":
                client.sadd(key, n)
            else:
                client.scard(key)
            emit(op=op, n=elem, addr=last_addr.value, ok=True, err=None, msg=None)
        except redis.RedisError as e:
            emit(op=op, n=elem, addr=last_addr.value, ok=False, err=classify(e), msg=str(e)[:200])
            time.sleep(0.02)
        time.sleep(PAUSE)


def main():
    sentinels = []
    for hp in sys.argv[1].split(","):
        host, port = hp.rsplit(":", 1)
        sentinels.append((host, int(port)))
    name, key, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
    sentinel = Sentinel(sentinels, socket_timeout=SOCKET_TIMEOUT)
    master = sentinel.master_for(
        name, socket_timeout=SOCKET_TIMEOUT, connection_class=Tracked
    )
    replica = sentinel.slave_for(
        name, socket_timeout=SOCKET_TIMEOUT, connection_class=Tracked
    )
    until = time.time() + seconds
    threads = [
        threading.Thread(target=run, args=(master, "w", key, until)),
        threading.Thread(target=run, args=(replica, "r", key, until)),
    ]
    emit(op="start", n=None, addr=None, ok=True, err=None, msg=redis.__version__)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emit(op="end", n=None, addr=None, ok=True, err=None, msg=None)


if __name__ == "__main__":
    main()
