-- wrk script for src/bench/run.sh: POSTs one chat completion per request.
--
-- Environment (read by every wrk thread):
--   BENCH_STREAM      "1" for "stream": true, anything else for a whole (non-stream) response
--   BENCH_AUTH        API key; sent as "Authorization: Bearer ..." when set (empty for the direct runs); several
--                     keys, comma-separated (BENCH_ORGS), are taken in turn, request by request
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

local keys = {}
for key in string.gmatch(auth, "[^,]+") do
  keys[#keys + 1] = key
end

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
if #keys == 1 then
  wrk.headers["Authorization"] = "Bearer " .. keys[1]
end
wrk.body = string.format(
  '{"model":"%s","messages":[{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"Write one short sentence about a quick brown fox."}],'
    .. '"max_tokens":%d,"stream":%s}',
  model, max_tokens, stream and "true" or "false")

if #keys > 1 then
  -- One request per key in turn; each wrk thread starts at another key. setup() runs in wrk's main Lua state
  -- and hands each thread its number; init() and request() run in the thread's own state.
  local threads = 0
  function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
  end
  local requests, next_key = {}, 0
  function init(args)
    for i, key in ipairs(keys) do
      local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
      requests[i] = wrk.format(nil, nil, headers, nil)
    end
    next_key = (thread_number or 0) * 7 % #requests
  end
  function request()
    next_key = next_key % #requests + 1
    return requests[next_key]
  end
end

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
