-- settle_v1.lua: settles one request, atomically and at most once per request id. Gives back the unused reserved
-- tokens (or takes the excess), releases the concurrency lease and the credit hold, charges the exact cost to the
-- hot balance, marks the request settled and appends the usage event to the org's shard stream, all in one step.
-- Every key belongs to one organization and carries its shard hash tag {s<orgId % 16>}, so all share one slot.
--
-- KEYS
--   1  gptapi:{s<shard>}:org:<orgId>:balance     string: hot balance, integer micro-USD (not created if missing)
--   2  gptapi:{s<shard>}:org:<orgId>:holds       hash: requestId -> held micro-USD, field "_total" = sum of holds
--   3  gptapi:{s<shard>}:org:<orgId>:holdexp     zset: requestId -> hold expiry ms
--   4  gptapi:{s<shard>}:req:<requestId>         hash: the reservation written by admit_v2.lua (may have expired)
--   5  gptapi:{s<shard>}:settled:<requestId>     settlement marker
--   6  gptapi:{s<shard>}:conc:<keyId>            zset: requestId -> lease expiry ms
--   7  gptapi:{s<shard>}:usage                   stream of usage events (never trimmed here; the writer trims)
--   8… the org's and the key's token buckets (b:org:<orgId>:tok:m|h|d, b:key:<keyId>:tok:m|h|d): every key the
--      reservation may name; only those named in the reservation are touched
-- ARGV
--   1 request id  2 org id  3 key id  4 model  5 backend id  6 endpoint  7 prompt tokens  8 completion tokens
--   9 cached tokens  10 cost micro-USD  11 HTTP status  12 estimated (0|1)  13 latency ms  14 ttft ms
--   15 settled-marker TTL ms
-- Returns
--   {"duplicate"}  already settled: nothing changed, no event
--   {"settled", balance_after, balance_present (0|1), reservation_found (0|1), stream_entry_id}
--     balance_after is 0 when the balance key was missing (it is then left missing, not created negative)
--   error "GPTAPI_MISMATCH ..." (nothing changed) when the reservation belongs to another org/key or names a
--   bucket key not passed in KEYS
-- Event fields (all strings): request_id org_id key_id model backend_id endpoint prompt_tokens completion_tokens
--   cached_tokens cost_micros status estimated latency_ms ttft_ms ts_ms (ts_ms from TIME)

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local rid = ARGV[1]

if redis.call('EXISTS', KEYS[5]) == 1 then
  return {'duplicate'}
end

local actual = tonumber(ARGV[7]) + tonumber(ARGV[8])

-- Validate the reservation before writing anything (a script error does not roll back earlier writes).
local found = 0
local rec = {}
local flat = redis.call('HGETALL', KEYS[4])
if #flat > 0 then
  found = 1
  for i = 1, #flat, 2 do rec[flat[i]] = flat[i + 1] end
  if rec['org'] ~= ARGV[2] or rec['key'] ~= ARGV[3] then
    return redis.error_reply('GPTAPI_MISMATCH reservation ' .. rid .. ' belongs to org ' .. tostring(rec['org'])
        .. ' key ' .. tostring(rec['key']))
  end
  local declared = {}
  for i = 8, #KEYS do declared[KEYS[i]] = true end
  for j = 1, tonumber(rec['nt'] or '0') do
    if not declared[rec['tk' .. j]] then
      return redis.error_reply('GPTAPI_MISMATCH bucket ' .. tostring(rec['tk' .. j]) .. ' not in KEYS')
    end
  end
end

-- Token buckets: give back reserved - actual (never above capacity), or take the excess (level may go negative).
if found == 1 then
  local delta = tonumber(rec['tokens']) - actual
  for j = 1, tonumber(rec['nt'] or '0') do
    local key = rec['tk' .. j]
    local cap, win = tonumber(rec['tc' .. j]), tonumber(rec['tw' .. j])
    local level = cap
    local state = redis.call('HMGET', key, 'v', 't', 'x')
    if state[1] then
      local elapsed = now - (tonumber(state[2]) or now)
      if elapsed < 0 then elapsed = 0 end
      level = math.min(cap, tonumber(state[1]) + elapsed * cap / win)
    end
    level = math.min(cap, level + delta)
    -- Same TTL rule as admit_v2.lua: live until full + one window; renew (+ another window) when x falls short.
    local until_full = math.ceil((cap - level) * win / cap)
    if now + until_full + win > (tonumber(state[3]) or 0) then
      local ttl = until_full + 2 * win
      redis.call('HSET', key, 'v', level, 't', now, 'x', now + ttl)
      redis.call('PEXPIRE', key, ttl)
    else
      redis.call('HSET', key, 'v', level, 't', now)
    end
  end
end

-- Concurrency lease and credit hold.
redis.call('ZREM', KEYS[6], rid)
local held = redis.call('HGET', KEYS[2], rid)
if held then
  redis.call('HDEL', KEYS[2], rid)
  redis.call('HINCRBY', KEYS[2], '_total', -tonumber(held))
end
redis.call('ZREM', KEYS[3], rid)

-- The exact charge. A missing balance is not created: PostgreSQL's ledger gets the debit from the stream event.
local present, after = 0, 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  present = 1
  after = redis.call('DECRBY', KEYS[1], ARGV[10])
end

redis.call('SET', KEYS[5], '1', 'PX', ARGV[15])
redis.call('DEL', KEYS[4])
local id = redis.call('XADD', KEYS[7], '*',
    'request_id', rid, 'org_id', ARGV[2], 'key_id', ARGV[3], 'model', ARGV[4], 'backend_id', ARGV[5],
    'endpoint', ARGV[6], 'prompt_tokens', ARGV[7], 'completion_tokens', ARGV[8], 'cached_tokens', ARGV[9],
    'cost_micros', ARGV[10], 'status', ARGV[11], 'estimated', ARGV[12], 'latency_ms', ARGV[13],
    'ttft_ms', ARGV[14], 'ts_ms', tostring(now))
return {'settled', after, present, found, id}
