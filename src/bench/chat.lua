-- wrk script for src/bench/run.sh: POSTs one chat completion per request.
--
-- Environment (read by every wrk thread):
--   BENCH_STREAM      "1" for "stream": true, anything else for a whole (non-stream) response
--   BENCH_AUTH        API key; sent as "Authorization: Bearer ..." when set (empty for the direct runs)
--   BENCH_MAX_TOKENS  completion tokens asked for (default 16), so direct and gateway generate the same amount
--   BENCH_MODEL       model id (default gpt-fast)
--
-- done() prints one machine-readable line for run.sh:
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N max_us=N mean_us=F
--                non2xx=N connect=N read=N write=N timeout=N bytes=N

local stream = os.getenv("BENCH_STREAM") == "1"
local auth = os.getenv("BENCH_AUTH") or ""
local max_tokens = tonumber(os.getenv("BENCH_MAX_TOKENS") or "16") or 16
local model = os.getenv("BENCH_MODEL") or "gpt-fast"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
if auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end
wrk.body = string.format(
  '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"Write one short sentence about a quick brown fox."}],'
    .. '"max_tokens":%d,"stream":%s}',
  model, max_tokens, stream and "true" or "false")

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f"
      .. " non2xx=%d connect=%d read=%d write=%d timeout=%d bytes=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout, summary.bytes))
end
