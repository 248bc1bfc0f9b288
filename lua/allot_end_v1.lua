-- allot_end_v1.lua: ends an allotment (allot_v1.lua) once every request it admitted has settled: releases its hold
-- and its concurrency slots and gives back to its buckets what it did not use (never above a bucket's capacity; a bucket whose
-- requests used more than taken may go negative).
-- The requests themselves were settled one by one by settle_v7.lua (no reservation: the exact charge, the usage
-- event, the settled marker), so nothing here is charged. Only the call that removes the hold gives anything
-- back: a repeated call, or one after the hold expired and was swept (the gateway was gone for a reservation TTL),
-- changes nothing.
--
-- KEYS   1  gptapi:{tag}:org:<orgId>:holds   2  gptapi:{tag}:org:<orgId>:holdexp   3  gptapi:{tag}:conc:<keyId>
--        4  gptapi:{tag}:lim:org:<orgId>     5  gptapi:{tag}:lim:key:<keyId>
-- ARGV   1  allotment id   2  requests not used   3  tokens not used (negative: its requests used more than it
--        took, and the buckets lose the excess, as settle_v7.lua takes a request's)   4  concurrency slots it took (s)
--        5  the plan, packed (as allot_v1.lua's ARGV 7)
-- Returns 1 if the allotment was ended now, 0 if there was none (already ended, or expired).

-- #include token_bucket.lua
-- #include scope_cache.lua
-- #include plan.lua

local id = ARGV[1]
local held = redis.call('HGET', KEYS[1], id)
if not held then
  return 0
end
redis.call('HDEL', KEYS[1], id)
redis.call('HINCRBY', KEYS[1], '_total', -tonumber(held))
redis.call('ZREM', KEYS[2], id)
local slots = tonumber(ARGV[4])
if slots > 0 then
  local members = {}
  for i = 1, slots do
    members[i] = id .. '#' .. i
  end
  redis.call('ZREM', KEYS[3], unpack(members))
end

local unused_n, unused_t = tonumber(ARGV[2]), tonumber(ARGV[3])
if unused_n ~= 0 or unused_t ~= 0 then
  local clock = redis.call('TIME')
  local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
  local got = redis.call('MGET', KEYS[4], KEYS[5])
  local plan = plans[ARGV[5]] or plan_of(ARGV[5])
  local caps, wins, active, scope_of, bucket_of = plan.caps, plan.wins, plan.active, plan.scope, plan.bucket
  local org_scope, key_scope = sc_get(KEYS[4], got[1]), sc_get(KEYS[5], got[2])
  for i = 1, #active do
    local p, b = active[i], bucket_of[i]
    local back = b < 3 and unused_n or unused_t
    if back ~= 0 then
      local c = scope_of[i] == 1 and org_scope or key_scope
      sc_set(c, b, math.min(caps[p], sc_level(c, b, caps[p], wins[p], now) + back), caps[p], wins[p])
    end
  end
  sc_flush(now)
end
return 1
