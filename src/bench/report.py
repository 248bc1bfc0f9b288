#!/usr/bin/env python3
"""Formats src/bench/run.sh results: report.py RESULTS.tsv [METRICS.txt] [GATEWAY.log] [USAGE_ROWS.txt]
(or report.py --wrk-row PART WRK_OUTPUT: one row of the cold-start table)

Prints the direct-vs-gateway table (plain text and Markdown; a METERING=off gateway's runs, when measured, as rows
"..., metering off" against the same direct runs), the first seconds after start, checks the targets
(PASS/MISS, the burst of open streams included) and summarises gateway-side evidence (non-200 request counters,
retries, queue rejections, WARN/ERROR log lines).
Always exits 0: the benchmark is a measurement, not a test.
"""
import collections
import csv
import json
import os
import re
import sys

# Targets (issue 12, with the full metered path on)
MIN_RPS_RATIO_MANY = 0.35     # gateway RPS / direct RPS at the many-connections level, stream and non-stream
MIN_RPS_RATIO_OFF = 0.6       # the same with METERING=off: the ceiling to chase
MAX_ADDED_P50_MS_ONE = 0.5    # added p50 at 1 connection
MAX_ADDED_P99_MS_ONE = 2.0    # added p99 at 1 connection
MAX_REDIS_US = 30.0           # Redis CPU per metered request (INFO cpu), so one Redis core carries >= 30,000/s
MAX_GATEWAY_US = 120.0        # gateway JVM CPU per metered request
MAX_PG_US = 25.0              # PostgreSQL CPU per metered request (the usage writer)
STREAMS_WANTED = 10_000       # simultaneous streams one gateway should hold ...
MAX_STREAMS_HEAP_MB = 512     # ... in this much heap


FOREIGN_WARN_PCT = 15.0      # other processes' CPU (in % of one core) that makes a run suspect


def redis_info(path):
    """(CPU seconds used by Redis, {command: (calls, usec)}) from an `INFO cpu` + `INFO commandstats` dump."""
    cpu, cmds = 0.0, {}
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith(("used_cpu_user:", "used_cpu_sys:")):
                cpu += float(line.split(":")[1])
            m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=(\d+)", line)
            if m:
                cmds[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    except OSError:
        return None, {}
    return cpu, cmds


def redis_per_request(base, name, requests):
    """Redis CPU us per request, and the busiest commands' calls and usec per request (commands a script runs are
    counted both in their own line and in the script's usec)."""
    a_cpu, a = redis_info(os.path.join(base, f"redis-{name}.before.txt"))
    b_cpu, b = redis_info(os.path.join(base, f"redis-{name}.after.txt"))
    if a_cpu is None or b_cpu is None or requests <= 0:
        return {}
    per = {}
    for cmd, (calls, usec) in b.items():
        c0, u0 = a.get(cmd, (0, 0))
        if calls > c0:
            per[cmd] = ((calls - c0) / requests, (usec - u0) / requests)
    top = sorted(per.items(), key=lambda kv: -kv[1][1])[:6]
    return {"redis_us_per_req": round((b_cpu - a_cpu) * 1e6 / requests, 1),
            "redis_cmds": [f"{cmd} {calls:.2f} calls {usec:.1f} us" for cmd, (calls, usec) in top]}


def load(path):
    rows = collections.OrderedDict()
    base = os.path.dirname(os.path.abspath(path))
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            try:
                r["cpu"] = json.load(open(os.path.join(base, f"cpu-{r['name']}.json")))
            except (OSError, ValueError):
                r["cpu"] = {}
            r["cpu"].update(redis_per_request(base, r["name"], int(r["requests"])))
            key = (r["mode"], int(r["conns"]))
            rows.setdefault(key, {})[r["target"]] = r
    return rows


def cpu_table(rows):
    header = ["run", "RPS", "busy %", "gateway %", "(sys)", "fake %", "(sys)", "wrk %", "redis+pg %", "softirq %",
              "foreign %", "unacc. %",
              "gw CPU us/req", "redis CPU us/req", "pg CPU us/req", "fake CPU us/req", "gw writes/req"]
    body, warnings = [], []
    for (mode, conns), t in rows.items():
        for target in ("direct", "gateway", "unmetered"):
            r = t.get(target)
            if not r:
                continue
            c = r["cpu"]
            g = lambda k: "" if c.get(k) is None else c[k]
            via = target != "direct"
            name = (f"{'stream' if mode == 'stream' else 'non-stream'} c{conns} "
                    f"{'gateway, metering off' if target == 'unmetered' else target}")
            body.append([name, f"{float(r['rps']):,.0f}", g("cpu_busy"), g("cpu_gateway"), g("cpu_gateway_sys"),
                         g("cpu_fake"), g("cpu_fake_sys"), g("cpu_wrk"), g("cpu_stores"), g("cpu_softirq"),
                         g("cpu_foreign"), g("cpu_unaccounted"),
                         g("gw_cpu_us_per_req") if via else "",
                         g("redis_us_per_req") if via else "",
                         g("pg_cpu_us_per_req") if via else "",
                         g("fake_cpu_us_per_req"), g("gw_syscw_per_req") if via else ""])
            foreign = c.get("cpu_foreign", 0) + c.get("cpu_unaccounted", 0)
            if foreign >= FOREIGN_WARN_PCT:
                warnings.append(f"{name}: other processes used {foreign:.0f}% of a core during the run "
                                f"({', '.join(c.get('foreign_top', [])) or 'short-lived processes'});"
                                f" its numbers are suspect")
    return header, body, warnings


def ms(us):
    return float(us) / 1000.0


def latencies_add_up(r):
    """Whether wrk's latencies of run r can be right: each connection carries one request at a time, so the
    requests' latencies add up to about the connections' time. wrk's sums reach up to 1.65x of it for sub-millisecond
    requests at one connection (its timing overhead), so up to twice passes. One stream run at one connection once
    printed p99 1.38 s and a mean of 86 ms for 18,163 requests in 11.6 s, 134x the time it had (its p50 was 0.51 ms):
    a wrk fault, not the gateway's latency."""
    if not r.get("mean_us"):
        return True  # results written before the mean was recorded
    return float(r["mean_us"]) * int(r["requests"]) <= 2 * int(r["conns"]) * int(r["duration_us"])


def sock_errors(r):
    return sum(int(r[k]) for k in ("connect", "read", "write", "timeout"))


def table(rows):
    header = ["scenario", "direct RPS", "direct p50 ms", "direct p99 ms", "gateway RPS", "gateway p50 ms",
              "gateway p99 ms", "RPS ratio", "added p50 ms", "added p99 ms", "non-2xx d/g", "socket err d/g"]
    out = []
    for (mode, conns), t in rows.items():
        d = t.get("direct")
        label = f"{'stream' if mode == 'stream' else 'non-stream'}, {conns} conn"
        for name, g in ((label, t.get("gateway")), (f"{label}, metering off", t.get("unmetered"))):
            if g or name == label:
                out.append(row(name, d, g, len(header)))
    return header, out


def row(name, d, g, width):
    """One table row: a gateway run against the direct run of the same scenario."""
    if not d or not g:
        return [name] + ["n/a"] * (width - 1)
    drps, grps = float(d["rps"]), float(g["rps"])
    lat = lambda r, p: f"{ms(r[p]):.2f}" if latencies_add_up(r) else "wrk fault"
    added = lambda p: (f"{ms(g[p]) - ms(d[p]):+.2f}" if latencies_add_up(d) and latencies_add_up(g) else "n/a")
    return [
        name,
        f"{drps:,.0f}", lat(d, "p50_us"), lat(d, "p99_us"),
        f"{grps:,.0f}", lat(g, "p50_us"), lat(g, "p99_us"),
        f"{grps / drps:.2f}" if drps else "n/a",
        added("p50_us"), added("p99_us"),
        f"{d['non2xx']}/{g['non2xx']}", f"{sock_errors(d)}/{sock_errors(g)}",
    ]


def plain(header, body):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    fmt = lambda r: "  ".join(str(x).rjust(w) if i else str(x).ljust(w) for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def markdown(header, body):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in body]
    return "\n".join(lines)


def targets(rows):
    checks = []
    many = max((c for _, c in rows), default=0)
    for (mode, conns), t in rows.items():
        d, g = t.get("direct"), t.get("gateway")
        label = "stream" if mode == "stream" else "non-stream"
        if not d or not g:
            checks.append(("MISS", f"{label}, {conns} conn: no result"))
            continue
        if conns == many and many > 1:
            ratio = float(g["rps"]) / float(d["rps"]) if float(d["rps"]) else 0.0
            checks.append(("PASS" if ratio >= MIN_RPS_RATIO_MANY else "MISS",
                           f"{label}, {conns} conn: gateway RPS >= {MIN_RPS_RATIO_MANY}x direct "
                           f"(measured {ratio:.2f}x)"))
        if conns == 1 and not (latencies_add_up(d) and latencies_add_up(g)):
            checks.append(("VOID", f"{label}, 1 conn: added p50 and p99 not measured: in every attempt wrk's "
                                   "latencies added up to more than twice the time its connection had"))
        elif conns == 1:
            a50 = ms(g["p50_us"]) - ms(d["p50_us"])
            a99 = ms(g["p99_us"]) - ms(d["p99_us"])
            checks.append(("PASS" if a50 <= MAX_ADDED_P50_MS_ONE else "MISS",
                           f"{label}, 1 conn: added p50 <= {MAX_ADDED_P50_MS_ONE} ms (measured {a50:+.3f} ms)"))
            checks.append(("PASS" if a99 <= MAX_ADDED_P99_MS_ONE else "MISS",
                           f"{label}, 1 conn: added p99 <= {MAX_ADDED_P99_MS_ONE} ms (measured {a99:+.3f} ms)"))
        if conns == many:
            n = int(g["non2xx"])
            checks.append(("PASS" if n == 0 else "MISS",
                           f"{label}, {conns} conn: zero non-2xx through the gateway (measured {n}"
                           f"; direct {d['non2xx']})"))
            off = t.get("unmetered")
            if off:
                ratio = float(off["rps"]) / float(d["rps"]) if float(d["rps"]) else 0.0
                gw_us = off["cpu"].get("gw_cpu_us_per_req")
                checks.append(("PASS" if ratio >= MIN_RPS_RATIO_OFF and int(off["non2xx"]) == 0 else "MISS",
                               f"{label}, {conns} conn, METERING=off: gateway RPS >= {MIN_RPS_RATIO_OFF}x direct, "
                               f"zero non-2xx (measured {ratio:.2f}x, {off['non2xx']} non-2xx; gateway JVM CPU "
                               f"{'n/a' if gw_us is None else f'{gw_us:.1f} us'} per request against "
                               f"{g['cpu'].get('gw_cpu_us_per_req', 'n/a')} us metered)"))
            c = g["cpu"]
            for key, limit, what in (("redis_us_per_req", MAX_REDIS_US, "Redis CPU"),
                                     ("gw_cpu_us_per_req", MAX_GATEWAY_US, "gateway JVM CPU"),
                                     ("pg_cpu_us_per_req", MAX_PG_US, "PostgreSQL CPU")):
                if c.get(key) is not None:
                    checks.append(("PASS" if c[key] <= limit else "MISS",
                                   f"{label}, {conns} conn: {what} per request <= {limit:.0f} us"
                                   f" (measured {c[key]:.1f} us)"))
    return checks


def streams_checks(path):
    try:
        r = json.load(open(path))
    except (OSError, ValueError):
        return []
    n, heap, idle = r["streams"], r.get("heap_after_gc_mb"), r.get("idle_heap_after_gc_mb")
    per = (f"{(heap - idle) * 1024 / max(1, r['open_at_heap_sample']):.1f} KB per open stream over the idle"
           f" {idle:.0f} MB" if heap is not None and idle is not None else "heap not read")
    other = {k: v for k, v in r["statuses"].items() if k != "200"}
    checks = [("PASS" if r["completed"] == n else "MISS",
               f"burst: {n:,} streams opened at once all complete (completed {r['completed']:,}; other statuses "
               f"{other or 'none'}, Retry-After {r['retry_after'] or 'none'}, errors {r['errors'] or 'none'};"
               f" all answered after {r['seconds_to_all_answered']} s, last done after {r['seconds']} s)")]
    if heap is not None:
        checks.append(("PASS" if heap <= MAX_STREAMS_HEAP_MB else "MISS",
                       f"burst: heap after a full GC with {r['open_at_heap_sample']:,} streams open <= "
                       f"{MAX_STREAMS_HEAP_MB} MB (measured {heap:.0f} MB, RSS {r['rss_mb']:.0f} MB; {per})"))
    if n < STREAMS_WANTED:
        checks.append(("MISS", f"burst: {STREAMS_WANTED:,} streams wanted, {n:,} run: one gateway holds two sockets"
                               f" per stream and this machine allows 20,000 open files per process"))
    return checks


def cold_table(path, rows):
    """The first seconds of load after start, as a ratio to the warm direct non-stream run."""
    try:
        parts = list(csv.DictReader(open(path), delimiter="\t"))
    except OSError:
        return []
    many = max((c for _, c in rows), default=0)
    direct = rows.get(("whole", many), {}).get("direct")
    warm = rows.get(("whole", many), {}).get("gateway")
    drps = float(direct["rps"]) if direct else 0.0
    wrps = float(warm["rps"]) if warm else 0.0
    out = []
    base = os.path.dirname(path)
    try:
        ready = float(open(os.path.join(base, "ready-seconds.txt")).read())
        line = f"  gateway ready {ready:.2f} s after its process started"
        g = json.load(open(os.path.join(base, "cpu-cold-1.before.json")))["gateway"]
        # CPU rather than wall time: on a busy machine a start takes longer, but not more CPU.
        out.append(line + f"; {(g['utime'] + g['stime']) / os.sysconf('SC_CLK_TCK'):.1f} s of gateway CPU when the load"
                          f" began")
    except (OSError, ValueError, KeyError, TypeError):
        if "line" in locals():
            out.append(line)
    warm_us = (warm or {}).get("cpu", {}).get("gw_cpu_us_per_req")
    for p in parts:
        secs = int(p["duration_us"]) / 1e6 if int(p["duration_us"]) else 0
        try:
            c = json.load(open(os.path.join(os.path.dirname(path), f"cpu-cold-{p['part']}.json")))
            # Requests per gateway CPU-second: how far the JIT has come, whatever share of the cores it got.
            cpu = (f", {1e6 / c['gw_cpu_us_per_req']:,.0f} requests per gateway CPU-second"
                   + (f" (warm {1e6 / warm_us:,.0f})" if warm_us else "")
                   + f", gateway CPU {c['gw_cpu_us_per_req']:.0f} us per request"
                   + (f" ({c['gw_cpu_us_per_req'] / warm_us:.1f}x warm)" if warm_us else "")
                   + f", its JIT compiler threads {c['gw_jit_pct']:.0f} % of a core, other processes "
                     f"{c['cpu_foreign'] + c['cpu_unaccounted']:.0f} %")
        except (OSError, ValueError, KeyError):
            cpu = ""
        out.append(f"  part {p['part']} ({secs:.0f} s): {float(p['rps']):,.0f} RPS"
                   + (f" = {float(p['rps']) / wrps:.2f}x the warm gateway" if wrps else "")
                   + (f" = {float(p['rps']) / drps:.2f}x warm direct" if drps else "")
                   + f", p50 {ms(p['p50_us']):.2f} ms, p99 {ms(p['p99_us']):.2f} ms, non-2xx {p['non2xx']}" + cpu)
    return out


def wrk_row(part, path):
    """One cold.tsv row from a wrk output's BENCH_RESULT line."""
    line = next((x for x in reversed(open(path).read().splitlines()) if x.startswith("BENCH_RESULT")), "")
    kv = dict(x.split("=", 1) for x in line.split()[1:])
    print("\t".join([part] + [kv.get(c, "0") for c in ("requests", "duration_us", "rps", "p50_us", "p99_us",
                                                         "non2xx")]))


def metrics_summary(path):
    try:
        text = open(path).read()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("gptapi_requests_total"):
            out.append(line)
        elif re.match(r"gptapi_(upstream_retries_total|queue_rejections_total)", line) and not line.endswith(" 0.0"):
            out.append(line)
        elif re.match(r"gptapi_(gateway_overhead_seconds|redis_script_seconds|settle_delay_seconds)_(sum|count)", line):
            out.append(line)
        elif re.match(r"gptapi_(admissions_total|usage_rows_written_total|settlements_pending|usage_duplicates_total)",
                      line):
            out.append(line)
    return out


def log_summary(path):
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return 0, []
    counts = collections.Counter()
    total = 0
    for line in lines:
        m = re.match(r"\S+\s+(WARN|ERROR)\s+(.*)", line)
        if not m:
            if re.match(r"^\s*(Exception|Caused by|java\.|io\.)", line):
                counts["  " + line.strip()[:200]] += 1
            continue
        total += 1
        msg = re.sub(r"\b[0-9a-f]{8,}\b|\b\d+\b", "#", m.group(2))[:200]
        counts[f"{m.group(1)} {msg}"] += 1
    return total, counts.most_common(15)


def main():
    rows = load(sys.argv[1])
    header, body = table(rows)
    print()
    print(plain(header, body))
    print()
    print("RPS ratio = gateway RPS / direct RPS; added = gateway minus direct latency; latency is wrk's time from")
    print("request written to response complete. non-2xx and socket errors are direct/gateway counts.")
    print()
    base = os.path.dirname(os.path.abspath(sys.argv[1]))
    cold = cold_table(os.path.join(base, "cold.tsv"), rows)
    if cold:
        print("The first seconds of load after the gateway started (non-stream, before any warm-up):")
        print("\n".join(cold))
        print()
    print("Targets:")
    for verdict, text in targets(rows) + streams_checks(os.path.join(base, "streams.json")):
        print(f"  {verdict}  {text}")
    redis_lines = [f"  {m.replace('whole', 'non-stream')} c{c}: {', '.join(t['gateway']['cpu']['redis_cmds'])}"
                   for (m, c), t in rows.items() if t.get("gateway") and t["gateway"]["cpu"].get("redis_cmds")]
    if redis_lines:
        print()
        print("Redis commands per gateway request (INFO commandstats; a script's usec includes the commands it runs,")
        print("which are also counted on their own lines):")
        print("\n".join(redis_lines))
    cheader, cbody, warnings = cpu_table(rows)
    if any(r[2] != "" for r in cbody):
        print()
        print(f"CPU during the measured runs (in % of one core; this machine has {os.cpu_count()} cores"
              f" = {100 * os.cpu_count()} %):")
        print(plain(cheader, cbody))
        busiest = [(n, r) for n, r in ((f"{m} c{c} gateway", t.get("gateway")) for (m, c), t in rows.items()) if r]
        if any(r["cpu"].get("gw_threads_top") for _, r in busiest):
            print("Busiest gateway threads (name#tid, % of one core):")
            for n, r in busiest:
                print(f"  {n.replace('whole', 'non-stream'):22s} {', '.join(r['cpu'].get('gw_threads_top', []))}")
                loops = [float(x.rsplit(" ", 1)[1].rstrip("%")) for x in r["cpu"].get("gw_threads_top", [])
                         if x.startswith("vert.x-eventloo")]
                if r["conns"] != "1" and len(loops) > 1 and sum(1 for x in loops if x >= 10.0) < len(loops):
                    warnings.append(f"{n.replace('whole', 'non-stream')}: only "
                                    f"{sum(1 for x in loops if x >= 10.0)} of the gateway's {len(loops)} event loops "
                                    f"carried the {r['conns']} connections ({', '.join(f'{x}%' for x in loops)})")
        for w in warnings:
            print("  WARNING: " + w)
        print("busy = whole machine; redis+pg = Redis and PostgreSQL (metering and the usage writer);")
        print("foreign = other processes (other engineers' builds and tests share it);")
        print("unacc. = busy time no process explains (processes that started and ended inside the window).")
        print("gw writes/req = the gateway's write/writev syscalls per request (/proc/PID/io syscw; send() is not")
        print("counted there).")
    print()
    print("Markdown:")
    print()
    print(markdown(header, body))
    if any(r[2] != "" for r in cbody):
        print()
        print(markdown(cheader, cbody))
    if len(sys.argv) > 2:
        m = metrics_summary(sys.argv[2])
        if m:
            print()
            print("Gateway metrics after the run:")
            for line in m:
                print("  " + line)
    if len(sys.argv) > 3:
        total, top = log_summary(sys.argv[3])
        print()
        print(f"Gateway log during the load: {total} WARN/ERROR lines" + (":" if top else "."))
        for msg, n in top:
            print(f"  {n:6d}x {msg}")
    if len(sys.argv) > 4:
        print()
        print(usage_check(sys.argv[2], sys.argv[4]))


def usage_check(metrics_path, rows_path):
    """Metering is exact only if every request the gateway answered became exactly one usage row."""
    try:
        rows = int(open(rows_path).read().strip())
        answered = 0
        for line in open(metrics_path).read().splitlines():
            m = re.search(r'status="(\d+)"', line)
            # Admitted requests are settled whatever their end (200, 499, 5xx); refusals (4xx) never are.
            if (line.startswith("gptapi_requests_total{") and 'endpoint="/v1/chat/completions"' in line and m
                    and not 400 <= int(m.group(1)) < 499):
                answered += int(float(line.rsplit(" ", 1)[1]))
    except (OSError, ValueError):
        return "Usage rows: not available"
    verdict = "PASS" if rows == answered else "MISS"
    return (f"  {verdict}  usage rows in PostgreSQL after the run: {rows:,} for {answered:,} chat requests the gateway"
            f" answered (probes and warm-ups included)")


if __name__ == "__main__":
    if sys.argv[1] == "--wrk-row":
        wrk_row(sys.argv[2], sys.argv[3])
    else:
        main()
