#!/usr/bin/env python3
"""Where Redis spends its time per gateway request, script by script: a sample of Redis's SLOWLOG.

    python3 src/bench/script_costs.py SECONDS [--port 6379] [--lua DIR]

INFO commandstats counts every EVALSHA together, whatever the script. For SECONDS this sets slowlog-log-slower-than
to 0 (every command is logged with its duration and its first arguments), drains the log four times a second, then
restores both settings. It prints each script (named by the SHA of its text as RedisScript composes it from DIR,
default this checkout's lua/) and each command by its share: calls, microseconds in all and per call, arguments per
call (a batched script's requests), and microseconds per XADD, which is one per gateway request settled (the
settlement's event). Commands inside a script are listed on their own too (their time is also the script's).
Logging every command costs Redis a few microseconds each: run.sh samples only during its discarded warm-ups.
"""
import argparse
import collections
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lua_cost import Conn, expand  # noqa: E402  (one RESP client and one include expansion for the bench)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MORE = re.compile(rb"\.\.\. \((\d+) more arguments\)")


def script_names(lua_dir):
    names = {}
    for f in sorted(os.listdir(lua_dir)):
        if f.endswith(".lua"):
            names[hashlib.sha1(expand(lua_dir, f).encode()).hexdigest()] = f
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seconds", type=float)
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--lua", default=os.path.join(ROOT, "lua"))
    a = ap.parse_args()
    names = script_names(a.lua)
    r = Conn(a.port)
    saved = {k: r.call("CONFIG", "GET", k)[1] for k in ("slowlog-log-slower-than", "slowlog-max-len")}
    entries = []
    try:
        r.call("CONFIG", "SET", "slowlog-max-len", "100000")
        r.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        r.call("SLOWLOG", "RESET")
        end = time.time() + a.seconds
        while time.time() < end:
            time.sleep(0.25)
            entries += r.call("SLOWLOG", "GET", "-1")
            r.call("SLOWLOG", "RESET")
    finally:
        for k, v in saved.items():
            r.call("CONFIG", "SET", k, v)
        r.call("SLOWLOG", "RESET")

    stats = collections.defaultdict(lambda: [0, 0, 0])  # calls, us, arguments
    for e in entries:
        us, args = int(e[2]), e[3]
        cmd = args[0].decode().lower()
        if cmd.startswith("slowlog") or cmd == "config":
            continue
        n = len(args)
        more = MORE.match(args[-1])
        if more:
            n += int(more.group(1)) - 1
        if cmd in ("evalsha", "eval") and len(args) > 1:
            sha = args[1].decode() if cmd == "evalsha" else hashlib.sha1(args[1]).hexdigest()
            cmd = names.get(sha, "script " + sha[:8])
        s = stats[cmd]
        s[0] += 1
        s[1] += us
        s[2] += n
    settled = stats["xadd"][0]
    if not settled:
        print("  (no XADD sampled: no gateway request settled during the sample)")
        return
    print("  %d requests settled in the sample (one XADD each)" % settled)
    for name, (calls, us, n) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:14]:
        print("  %-22s %7d calls %9d us %8.1f us/call %6.1f args/call %6.2f us per request"
              % (name, calls, us, us / calls, n / calls, us / settled))


if __name__ == "__main__":
    main()
