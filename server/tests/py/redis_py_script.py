"""Drives a server through redis-py (Debian's python3-redis) and prints
every result, so the same run against picket-server and redis-server can
be compared line by line. Usage: redis_py_script.py PORT"""
import sys
import time

import redis


def main(port):
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    out = []

    def show(label, fn):
        try:
            out.append(f"{label}: {fn()!r}")
        except redis.RedisError as e:
            out.append(f"{label}: {type(e).__name__}: {e}")

    show("ping", r.ping)
    show("set", lambda: r.set("s", "v", ex=100))
    show("get", lambda: r.get("s"))
    show("ttl", lambda: r.ttl("s"))
    show("incr", lambda: r.incr("n"))
    show("incrbyfloat", lambda: r.incrbyfloat("f", 1.5))
    show("mset", lambda: r.mset({"a": "1", "b": "2"}))
    show("mget", lambda: r.mget("a", "b", "nope"))
    show("wrongtype", lambda: r.lpush("s", "x"))
    show("lpush", lambda: r.rpush("l", *"abcde"))
    show("lrange", lambda: r.lrange("l", 0, -1))
    show("blpop", lambda: r.blpop(["l"], timeout=1))
    show("blpop-timeout", lambda: r.blpop(["empty"], timeout=0.1))
    show("hset", lambda: r.hset("h", mapping={"x": "1", "y": "2"}))
    show("hgetall", lambda: r.hgetall("h"))
    show("hincrbyfloat", lambda: r.hincrbyfloat("h", "x", 0.25))
    show("sadd", lambda: r.sadd("st", 3, 1, 2))
    show("smembers", lambda: sorted(r.smembers("st")))
    show("zadd", lambda: r.zadd("z", {"a": 1, "b": 2.5}))
    show("zrange", lambda: r.zrange("z", 0, -1, withscores=True))
    show("zscore", lambda: r.zscore("z", "b"))
    show("zpopmin", lambda: r.zpopmin("z"))
    show("scan_iter", lambda: sorted(r.scan_iter(match="*", count=2)))
    show("hscan", lambda: r.hscan("h"))
    show("type", lambda: r.type("z"))
    show("expire", lambda: r.expire("a", 50))
    show("persist", lambda: r.persist("a"))
    show("rename", lambda: r.rename("a", "a2"))
    show("exists", lambda: r.exists("a", "a2"))
    show("object", lambda: r.object("encoding", "l"))
    # a pipeline and a transaction
    p = r.pipeline(transaction=False)
    p.set("p1", "x").get("p1").incr("p2").lpop("nolist")
    show("pipeline", p.execute)
    t = r.pipeline(transaction=True)
    t.set("t1", "1").incr("t1").get("t1")
    show("multi", t.execute)
    # WATCH: another client changes the key, the transaction aborts
    def watched():
        with r.pipeline() as w:
            w.watch("wk")
            redis.Redis(host="127.0.0.1", port=port).set("wk", "other")
            w.multi()
            w.set("wk", "mine")
            try:
                return w.execute()
            except redis.WatchError:
                return "WatchError"
    show("watch", watched)
    show("wk", lambda: r.get("wk"))
    # a transaction with a queueing error
    def execabort():
        t = r.pipeline(transaction=True)
        t.execute_command("SET", "x")
        t.set("y", "1")
        return t.execute()
    show("execabort", execabort)
    # pub/sub
    ps = r.pubsub()
    ps.subscribe("ch")
    ps.psubscribe("c*")
    msgs = []
    deadline = time.time() + 5
    while len(msgs) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            msgs.append(m)
    out.append(f"subscribed: {msgs!r}")
    show("publish", lambda: r.publish("ch", "hello"))
    got = []
    while len(got) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=0.2)
        if m:
            got.append(m)
    out.append(f"messages: {sorted(got, key=lambda m: m['type'])!r}")
    show("numsub", lambda: r.pubsub_numsub("ch"))
    ps.close()
    # CONFIG GET order is Redis's dict order: compare as a sorted list
    show("config_get", lambda: sorted(r.config_get("maxmemory*").items()))
    show("client_setname", lambda: r.client_setname("pyclient"))
    show("client_getname", r.client_getname)
    show("info_role", lambda: r.info("replication")["role"])
    show("dbsize", r.dbsize)
    show("flushdb", r.flushdb)
    show("dbsize2", r.dbsize)
    print("\n".join(out))


if __name__ == "__main__":
    main(int(sys.argv[1]))
