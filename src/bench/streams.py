#!/usr/bin/env python3
"""Many open streams at once, for src/bench/run.sh:

  streams.py PORT KEY MODEL STREAMS MAX_TOKENS GATEWAY_PID OUT.json

Opens STREAMS streaming chat completions through the gateway on 127.0.0.1:PORT all at once (one client, no
pacing: a burst), holds each until its `data: [DONE]`, and once every request has its status line (all the
streams open, unless the first already ended) measures the gateway's heap after a full GC (`jcmd PID GC.run`, then
`GC.heap_info`; also once before the burst) and its resident memory. Writes one JSON object: how many completed
with 200 and [DONE], the other statuses (with Retry-After when given), the heap and RSS, and the time from the
first connect to the last [DONE]. Exits 0 unless the setup fails.
"""
import asyncio
import collections
import json
import re
import subprocess
import sys
import time

PORT, KEY, MODEL = int(sys.argv[1]), sys.argv[2], sys.argv[3]
STREAMS, MAX_TOKENS, GW_PID, OUT = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
CONNECT_ATTEMPTS = 20  # a burst of SYNs can overflow the listen backlog: a refused connect is retried


def request():
    body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
                       "max_tokens": MAX_TOKENS, "stream": True}).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return head + body


REQUEST = request()


class Tally:
    def __init__(self):
        self.streaming = 0       # 200 received, [DONE] not yet
        self.peak = 0
        self.done = 0            # 200 and [DONE]
        self.statuses = collections.Counter()
        self.retry_after = collections.Counter()
        self.errors = collections.Counter()
        self.answered = 0        # requests with their status line, or failed before it
        self.all_answered = asyncio.Event()

    def answer(self):
        self.answered += 1
        if self.answered == STREAMS:
            self.all_answered.set()


async def one(t):
    writer, answered = None, False
    try:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                break
            except ConnectionRefusedError:
                await asyncio.sleep(0.05 * (attempt + 1))
        else:
            t.errors["connect refused"] += 1
            t.answer()
            return
        writer.write(REQUEST)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 120)
        parts = status_line.split()
        status = int(parts[1]) if len(parts) > 1 else 0
        t.statuses[status] += 1
        answered = True
        t.answer()
        headers = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if status != 200:
            t.retry_after[headers.get("retry-after", "none")] += 1
            return
        t.streaming += 1
        t.peak = max(t.peak, t.streaming)
        try:
            while True:
                line = await asyncio.wait_for(reader.readline(), 120)
                if not line:
                    t.errors["closed before [DONE]"] += 1
                    return
                if line.startswith(b"data: [DONE]"):
                    t.done += 1
                    return
        finally:
            t.streaming -= 1
    except (OSError, asyncio.TimeoutError, ValueError, IndexError) as e:
        t.errors[type(e).__name__] += 1
        if not answered:
            t.answer()
    finally:
        if writer is not None:
            writer.close()


def heap_after_gc(pid):
    """MB of Java heap in use after a full GC, and the resident set size in MB."""
    subprocess.run(["jcmd", pid, "GC.run"], capture_output=True, timeout=120)
    info = subprocess.run(["jcmd", pid, "GC.heap_info"], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"total (\d+)K, used (\d+)K", info)
    rss = None
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return (int(m.group(2)) / 1024 if m else None), rss


async def main():
    t = Tally()
    idle_heap, _ = heap_after_gc(GW_PID)
    started = time.monotonic()
    tasks = [asyncio.create_task(one(t)) for _ in range(STREAMS)]
    await asyncio.wait_for(t.all_answered.wait(), 300)
    opened = time.monotonic() - started
    open_at_measure = t.streaming
    heap, rss = await asyncio.get_running_loop().run_in_executor(None, heap_after_gc, GW_PID)
    await asyncio.gather(*tasks)
    result = {
        "streams": STREAMS, "completed": t.done, "peak_open": t.peak, "open_at_heap_sample": open_at_measure,
        "seconds_to_all_answered": round(opened, 1), "seconds": round(time.monotonic() - started, 1),
        "statuses": {str(k): v for k, v in t.statuses.items()},
        "retry_after": dict(t.retry_after), "errors": dict(t.errors),
        "heap_after_gc_mb": None if heap is None else round(heap, 1),
        "idle_heap_after_gc_mb": None if idle_heap is None else round(idle_heap, 1),
        "rss_mb": None if rss is None else round(rss, 1),
    }
    with open(OUT, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
