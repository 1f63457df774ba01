// ioredis through Sentinel, as an application uses it (ha-tests/tests/clients.rs).
//
// usage: node ioredis_loop.js SENTINELS MASTER KEY SECONDS
//   SENTINELS  comma-separated host:port list
//
// A writer adds unique elements (SADD KEY n, n = 1, 2, ...) through
// `new Redis({ sentinels, name })` (role master); a reader reads (SCARD KEY)
// through a second client with role "slave". One JSON line per operation on
// stdout, the same format as redis_py_loop.py:
//   {"t": unix time (seconds, float), "op": "w"|"r", "n": element or null,
//    "addr": "ip:port" of the socket the command was written to (null if
//    none), "ok": bool, "err": null | "READONLY" | error class, "msg": text}
// Options: failoverDetector (SUBSCRIBE +switch-master on the sentinels and
// drop the data connection on a switch) and reconnectOnError for READONLY,
// the two settings ioredis's docs give for Sentinel failover; short
// timeouts so a frozen node is left quickly; no offline queue, so every
// command goes to the socket that is current when it is sent.
"use strict";

const Redis = require("ioredis");

const [sentinelList, name, key, seconds] = process.argv.slice(2);
const sentinels = sentinelList.split(",").map((hp) => {
  const i = hp.lastIndexOf(":");
  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
});
const until = Date.now() + Number(seconds) * 1000;

function emit(rec) {
  rec.t = Date.now() / 1000;
  process.stdout.write(JSON.stringify(rec) + "\n");
}

function client(role) {
  const c = new Redis({
    sentinels,
    name,
    role,
    failoverDetector: true,
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 500,
    sentinelCommandTimeout: 500,
    retryStrategy: () => 20,
    sentinelRetryStrategy: () => 20,
  });
  c.on("error", () => {}); // every error is reported per command below
  return c;
}

function classify(e) {
  const m = String(e && e.message);
  if (m.startsWith("READONLY")) return "READONLY";
  if (m.includes("timed out")) return "Timeout";
  return (e && e.name) || "Error";
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(c, op) {
  let n = 0;
  while (Date.now() < until) {
    const elem = op === "w" ? ++n : null;
    const s = c.stream;
    const addr =
      c.status === "ready" && s && s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : null;
    try {
      if (op === "w") await c.sadd(key, String(elem));
      else await c.scard(key);
      emit({ op, n: elem, addr, ok: true, err: null, msg: null });
    } catch (e) {
      emit({ op, n: elem, addr, ok: false, err: classify(e), msg: String(e.message).slice(0, 200) });
      await sleep(20);
    }
    await sleep(5);
  }
}

(async () => {
  const master = client("master");
  const replica = client("slave");
  emit({ op: "start", n: null, addr: null, ok: true, err: null, msg: require("ioredis/package.json").version });
  await Promise.all([run(master, "w"), run(replica, "r")]);
  emit({ op: "end", n: null, addr: null, ok: true, err: null, msg: null });
  master.disconnect();
  replica.disconnect();
  process.exit(0);
})();
