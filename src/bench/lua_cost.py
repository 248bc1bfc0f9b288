#!/usr/bin/env python3
"""What the metering scripts cost Redis per admission + settlement pair, without the gateway.

    python3 src/bench/lua_cost.py [--lua DIR] [--batches N] [--size K] [--rounds R] [--callgrind]

Starts a private redis-server (the one on PATH, or REDIS_SERVER) on a free port, loads lua/admit_v6.lua and
lua/settle_v8.lua from DIR (default: this checkout's lua/; point it at another checkout's to compare two versions)
with their "-- #include" lines expanded as RedisScript does, and sends R rounds of N admission batches of K requests
(one organization, the default plan's six organization limits, no key limits) followed by the N settlement batches
of the same requests, pipelined. Prints Redis's own CPU (INFO cpu) per request for each round. With --callgrind the
server runs under valgrind's callgrind and the total instruction count per pair is printed instead: exact and
repeatable whatever else the machine does (CPU time here moves by +-10 % between rounds), but a stripped
redis-server names no functions; build one with symbols for a profile (callgrind_annotate on the output file).
"""
import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def expand(lua_dir, name):
    out = []
    with open(os.path.join(lua_dir, name)) as f:
        for line in f:
            if line.startswith("-- #include "):
                with open(os.path.join(lua_dir, line[len("-- #include "):].strip())) as inc:
                    out.append(inc.read())
            else:
                out.append(line)
    return "".join(out)


class Conn:
    """A minimal RESP client: enough for pipelined EVALSHA and INFO."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    @staticmethod
    def encode(args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(parts)

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(line)

    def call(self, *args):
        self.sock.sendall(self.encode(args))
        return self.read()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(c) for c in commands))
        return [self.read() for _ in commands]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port, callgrind, out_file):
    server = os.environ.get("REDIS_SERVER", shutil.which("redis-server") or "/usr/bin/redis-server")
    cmd = [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    if callgrind:
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file] + cmd
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            Conn(port).call("PING")
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("redis-server did not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lua", default=os.path.join(ROOT, "lua"))
    ap.add_argument("--batches", type=int, default=1000)
    ap.add_argument("--size", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--callgrind", action="store_true")
    a = ap.parse_args()

    port = free_port()
    work = tempfile.mkdtemp(prefix="lua-cost-")
    out_file = os.path.join(work, "callgrind.out")
    proc = start_server(port, a.callgrind, out_file)
    try:
        r = Conn(port)
        admit = r.call("SCRIPT", "LOAD", expand(a.lua, "admit_v6.lua")).decode()
        settle = r.call("SCRIPT", "LOAD", expand(a.lua, "settle_v8.lua")).decode()
        org, key = 7, 70
        base = "gptapi:{o%d}:" % org
        balance = base + "org:%d:balance" % org
        r.call("SET", balance, "100000000000000")
        plan = struct.pack("<15d", *([1e9] * 6 + [0.0] * 6 + [60000.0, 3600000.0, 86400000.0]))

        def keys(rid, sixth):
            return [balance, base + "org:%d:holds" % org, base + "org:%d:holdexp" % org, base + "req:" + rid,
                    base + "conc:%d" % key, sixth, base + "lim:o:%d" % org, base + "lim:k:%d" % key]

        def batches(round_no, admitting):
            out = []
            for b in range(a.batches):
                ks, args = [], []
                if not admitting:
                    # settle_v8's header: the organization's keys and arguments, once per call.
                    ks += [balance, base + "org:%d:holds" % org, base + "org:%d:holdexp" % org, base + "outbox",
                           base + "lim:o:%d" % org, base + "org:%d:balgen" % org]
                    args += [str(org), "86400000"]
                for i in range(a.size):
                    rid = "bench-%d-%d-%d" % (round_no, b, i)
                    if admitting:
                        ks += keys(rid, base + "org:%d:balgen" % org)
                        args += [rid, str(org), str(key), "2500", "600", "0", "3600000", "86400000", "", "", plan]
                    else:
                        ks += [base + "req:" + rid, base + "conc:%d" % key, base + "lim:k:%d" % key]
                        args += [rid, str(key), "120", "16", "38",
                                 "%d,1,/v1/chat/completions,120,16,0,38,200,0,3,2,gpt-fast" % key, "0"]
                out.append(["EVALSHA", admit if admitting else settle, str(len(ks))] + ks + args)
            return out

        def cpu():
            info = r.call("INFO", "cpu").decode()
            return sum(float(v) for v in re.findall(r"used_cpu_(?:user|sys):([\d.]+)", info))

        requests = a.batches * a.size
        for n in range(a.rounds):
            admissions, settlements = batches(n, True), batches(n, False)
            c0 = cpu()
            replies = r.pipeline(admissions)
            c1 = cpu()
            replies += r.pipeline(settlements)
            c2 = cpu()
            for reply in replies:
                if not all(x[0] == b"ok" if isinstance(x, list) else x.startswith(b"S,") for x in reply):
                    sys.exit("unexpected reply: %r" % reply[:2])
            r.call("DEL", base + "outbox")  # the usage writer's part: keep the stream from growing
            if not a.callgrind:
                print("round %d: admission %.1f us, settlement %.1f us, pair %.1f us of Redis CPU per request"
                      % (n, (c1 - c0) * 1e6 / requests, (c2 - c1) * 1e6 / requests, (c2 - c0) * 1e6 / requests))
    finally:
        proc.terminate()
        proc.wait()
    if a.callgrind:
        total = 0
        with open(out_file) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
        pairs = a.rounds * requests
        print("callgrind: %d instructions in all (server start included), %d per admission + settlement pair"
              % (total, total // pairs))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
