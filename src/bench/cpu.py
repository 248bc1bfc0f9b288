#!/usr/bin/env python3
"""CPU accounting for src/bench/run.sh (Linux /proc only).

  cpu.py snap OUT.json GATEWAY_PID FAKE_PID SHELL_PID
      Snapshot of machine CPU time (/proc/stat), the gateway's and the fake server's CPU time and I/O syscall
      counts, the shell's reaped-children CPU time (wrk runs as its child, so its CPU time lands there once it
      exits), and every other process's CPU time.
  cpu.py diff BEFORE.json AFTER.json REQUESTS
      One JSON line: each party's share of the machine during the window in % of one core (a 2-core machine has
      200 %), write/read syscalls per completed request for gateway and fake, and the busiest foreign processes.
  cpu.py wait-quiet MAX_PCT TIMEOUT_S GATEWAY_PID FAKE_PID SHELL_PID
      Waits until, over one second, the machine minus gateway and fake is busy at most MAX_PCT % of one core
      (other engineers' builds and tests share this machine). Exit 0 when quiet, 1 on timeout; logs to stderr.
"""
import json
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17 (1-based in proc(5))
    return {"name": name, "utime": int(fields[11]), "stime": int(fields[12]),
            "cutime": int(fields[13]), "cstime": int(fields[14]), "ppid": int(fields[1])}


def proc_io(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                k, v = line.split(":")
                out[k.strip()] = int(v)
    except OSError:
        pass
    return out


def snapshot(gw, fake, shell):
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    idle = cpu[3] + cpu[4]
    total = sum(cpu[:8])
    ours = {str(gw), str(fake), str(shell), str(os.getpid())}
    others = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid in ours:
            continue
        s = proc_stat(pid)
        if s and s["ppid"] != int(shell):
            others[pid] = [s["name"], s["utime"] + s["stime"]]
    data = {
        "total": total, "idle": idle, "softirq": cpu[5] + cpu[6], "ncpu": os.cpu_count(),
        "gateway": proc_stat(gw), "gateway_io": proc_io(gw), "gateway_threads": threads(gw),
        "fake": proc_stat(fake), "fake_io": proc_io(fake),
        "shell": proc_stat(shell), "others": others,
    }
    return data


def threads(pid):
    """CPU jiffies per thread: {tid: [name, jiffies]} (names are cut to 15 characters by the kernel)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        out[tid] = [raw[raw.index("(") + 1:raw.rindex(")")], int(fields[11]) + int(fields[12])]
    return out


def snap(path, gw, fake, shell):
    with open(path, "w") as f:
        json.dump(snapshot(gw, fake, shell), f)


# Redis and PostgreSQL serve the gateway's metering (admission, settlement, the usage writer): their CPU is part
# of the system under test, not a disturbance (nothing else uses them during a run).
STORES = ("redis-server", "postgres")


def foreign_cpu(a, b):
    """Jiffies used by processes other than ours: deltas of long-lived ones plus all of those started since a.
    Returns (foreign, redis, postgres)."""
    foreign, stores = {}, {name: 0 for name in STORES}
    for pid, (name, t) in b["others"].items():
        d = t - a["others"][pid][1] if pid in a["others"] else t
        if d > 0:
            store = next((s for s in STORES if name.startswith(s)), None)
            if store:
                stores[store] += d
            else:
                foreign[f"{name}[{pid}]"] = d
    return foreign, stores["redis-server"], stores["postgres"]


def diff(a_path, b_path, requests):
    a, b = json.load(open(a_path)), json.load(open(b_path))
    print(json.dumps(diff_data(a, b, requests)))


def diff_data(a, b, requests):
    wall = (b["total"] - a["total"]) / a["ncpu"]  # jiffies of wall time
    if wall <= 0:
        return {}
    pct = lambda j: round(100.0 * j / wall, 1)

    def own(key):
        x, y = a.get(key), b.get(key)
        if not x or not y:
            return 0, 0
        return y["utime"] - x["utime"], y["stime"] - x["stime"]

    gu, gs = own("gateway")
    fu, fs = own("fake")
    wrk = (b["shell"]["cutime"] + b["shell"]["cstime"]) - (a["shell"]["cutime"] + a["shell"]["cstime"])
    busy = (b["total"] - b["idle"]) - (a["total"] - a["idle"])
    foreign, redis, postgres = foreign_cpu(a, b)
    stores = redis + postgres
    foreign_total = sum(foreign.values())
    top = sorted(foreign.items(), key=lambda kv: -kv[1])[:3]
    req = max(1, int(requests))

    def per_req(key, field):
        x, y = a.get(key, {}), b.get(key, {})
        if field not in x or field not in y:
            return None
        return round((y[field] - x[field]) / req, 2)

    softirq = b["softirq"] - a["softirq"]
    ta, tb = a.get("gateway_threads", {}), b.get("gateway_threads", {})
    tdelta = sorted(((v[1] - ta.get(t, [None, 0])[1], f"{v[0]}#{t}") for t, v in tb.items()), reverse=True)
    jit = sum(j for j, name in tdelta if name.startswith(("C1 CompilerThre", "C2 CompilerThre")))
    return {
        "cpu_busy": pct(busy), "cpu_gateway": pct(gu + gs), "cpu_gateway_sys": pct(gs),
        "cpu_fake": pct(fu + fs), "cpu_fake_sys": pct(fs), "cpu_wrk": pct(wrk),
        "cpu_foreign": pct(foreign_total), "cpu_stores": pct(stores),
        "cpu_softirq": pct(softirq),
        # busy time nobody above explains: mostly processes that started and ended inside the window
        "cpu_unaccounted": pct(max(0, busy - (gu + gs) - (fu + fs) - wrk - foreign_total - stores - softirq)),
        "foreign_top": [f"{k} {pct(v)}%" for k, v in top if pct(v) >= 1.0],
        "gw_syscw_per_req": per_req("gateway_io", "syscw"), "gw_syscr_per_req": per_req("gateway_io", "syscr"),
        "fake_syscw_per_req": per_req("fake_io", "syscw"),
        "gw_cpu_us_per_req": round((gu + gs) * 1e6 / HZ / req, 1),
        # the JIT compiler threads' share of the gateway (high in the first seconds after a start)
        "gw_jit_pct": pct(jit),
        "fake_cpu_us_per_req": round((fu + fs) * 1e6 / HZ / req, 1),
        # Process CPU of Redis and PostgreSQL per request (jiffies: 10 ms resolution, fine over a 10 s run).
        "redis_cpu_us_per_req": round(redis * 1e6 / HZ / req, 1),
        "pg_cpu_us_per_req": round(postgres * 1e6 / HZ / req, 1),
        # event-loop threads always (an idle one shows that load is not spread), others when they matter
        "gw_threads_top": [f"{name} {pct(j)}%" for i, (j, name) in enumerate(tdelta)
                           if name.startswith("vert.x-eventloo") or (i < 4 and pct(j) >= 1.0)],
    }


def wait_quiet(max_pct, timeout, gw, fake, shell):
    deadline = time.time() + float(timeout)
    said = False
    while True:
        a = snapshot(gw, fake, shell)
        time.sleep(1.0)
        b = snapshot(gw, fake, shell)
        d = diff_data(a, b, 1)
        if not d:
            continue
        rest = d["cpu_busy"] - d["cpu_gateway"] - d["cpu_fake"]
        if rest <= float(max_pct):
            if said:
                print(f"[bench] quiet again (other load {rest:.0f}%)", file=sys.stderr)
            return 0
        if time.time() >= deadline:
            print(f"[bench] WARNING: other load still {rest:.0f}% of a core "
                  f"({', '.join(d['foreign_top']) or 'short-lived processes'}); measuring anyway", file=sys.stderr)
            return 1
        if not said:
            print(f"[bench] waiting for other processes to go quiet: {rest:.0f}% of a core busy "
                  f"({', '.join(d['foreign_top']) or 'short-lived processes'})", file=sys.stderr)
            said = True


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        snap(sys.argv[2], *sys.argv[3:6])
    elif sys.argv[1] == "diff":
        diff(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "wait-quiet":
        sys.exit(wait_quiet(*sys.argv[2:7]))
    else:
        sys.exit(__doc__)
