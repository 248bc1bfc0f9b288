-- allot_v1.lua: takes an allotment: a block of admissions one gateway then grants from its own memory
-- (ai.gpt.api.metering.Allotments), so a busy organization's requests do not each run admit_v6.lua. Atomically,
-- and only if ALL fit with room to spare: takes n requests from every request bucket and t tokens from every
-- token bucket of the plan, places one credit hold of h micro-USD (the allotment id is its holds field, expiring
-- like a request's hold), and, for a key with a concurrency limit, takes s slots of it (members "<id>#1".."<id>#s"
-- of the key's lease set). Otherwise changes nothing. allot_end_v1.lua gives back what the gateway did not use.
--
-- "Room to spare": every bucket must hold at least twice what it gives, the credit available (balance - holds)
-- at least twice the hold, and the concurrency limit at least twice the slots above the leases taken; so an
-- allotment never takes more than half of what is left, and near a limit the requests go one by one through
-- admit_v6.lua, which enforces it exactly.
--
-- KEYS (all of one organization, one hash tag)
--   1  gptapi:{tag}:org:<orgId>:balance     2  gptapi:{tag}:org:<orgId>:holds     3  gptapi:{tag}:org:<orgId>:holdexp
--   4  gptapi:{tag}:conc:<keyId>            5  gptapi:{tag}:lim:org:<orgId>       6  gptapi:{tag}:lim:key:<keyId>
-- ARGV
--   1  allotment id (a holds field: not starting with "_")
--   2  n, requests        3  t, tokens        4  h, micro-USD (>= 0)
--   5  s, concurrency slots (0 when the key has no concurrency limit)   6  the key's concurrency limit (0: none)
--   7  the plan, packed as admit_v6.lua's ARGV 11 (plan.lua)
--   8  TTL ms of the hold and the slots (a request's reservation TTL)
-- Returns
--   {"no_balance"}       no hot balance, or no holds yet: only admit_v6.lua loads and starts them
--   {"duplicate"}        the id already holds credit: nothing changed
--   {"short", position}  something would keep less than the allotment takes (position 1..12 of the bucket, 0 for
--                        credit or concurrency): nothing changed
--   {"ok", the 8 header values of plan_tightest after the allotment was taken, available micro-USD before it}
-- Time comes only from TIME.

-- #include token_bucket.lua
-- #include scope_cache.lua
-- #include plan.lua

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local id = ARGV[1]
local n, tokens, hold = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local slots, conc_limit, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[8])

local got = redis.call('MGET', KEYS[1], KEYS[5], KEYS[6])
local credit = redis.call('HMGET', KEYS[2], '_total', id)
if not got[1] or not credit[1] then
  return {'no_balance'}
end
if credit[2] then
  return {'duplicate'}
end
local total = tonumber(credit[1])
local available = tonumber(got[1]) - total
if available < 2 * hold or available <= 0 then
  return {'short', 0}
end

local plan = plans[ARGV[7]] or plan_of(ARGV[7])
local caps, wins, active, scope_of, bucket_of = plan.caps, plan.wins, plan.active, plan.scope, plan.bucket
local org_scope, key_scope = sc_get(KEYS[5], got[2]), sc_get(KEYS[6], got[3])
local levels = {}
for i = 1, #active do
  local p, b = active[i], bucket_of[i]
  local take = b < 3 and n or tokens
  local level = sc_level(scope_of[i] == 1 and org_scope or key_scope, b, caps[p], wins[p], now)
  if level < 2 * take then
    return {'short', p}
  end
  levels[i] = level - take
end
if slots > 0 and redis.call('ZCOUNT', KEYS[4], now + 1, '+inf') + 2 * slots > conc_limit then
  return {'short', 0}
end

for i = 1, #active do
  local p = active[i]
  sc_set(scope_of[i] == 1 and org_scope or key_scope, bucket_of[i], levels[i], caps[p], wins[p])
end
sc_flush(now)
local expiry = now + ttl
redis.call('HSET', KEYS[2], id, ARGV[4], '_total', total + hold)
redis.call('ZADD', KEYS[3], expiry, id)
if slots > 0 then
  local add = {}
  for i = 1, slots do
    add[#add + 1], add[#add + 2] = expiry, id .. '#' .. i
  end
  redis.call('ZADD', KEYS[4], unpack(add))
  redis.call('PEXPIRE', KEYS[4], ttl)
end
local r, r_cap, r_rem, r_reset, t, t_cap, t_rem, t_reset = plan_tightest(plan, levels)
return {'ok', r, r_cap, r_rem, r_reset, t, t_cap, t_rem, t_reset, available}
