-- token_bucket.lua: the token-bucket arithmetic, the one Lua definition of it. Not a script of its own: a script
-- that needs it has the line "-- #include token_bucket.lua", which RedisScript replaces with this text when it
-- loads the script. ai.gpt.api.limits.TokenBucket is the Java definition; TokenBucketAgreementTest runs both on
-- the same inputs and requires identical results, so change them together.
--
-- A bucket of capacity cap refills continuously, cap per window of win ms. Stored: level v at time t (ms). A
-- missing level is a full bucket; a time in the future (another clock) counts as no time elapsed.

local TB_EPS = 1e-9
-- Locals: a global lookup (math.floor) costs a table access on every call.
local tb_floor, tb_ceil, tb_min = math.floor, math.ceil, math.min

-- The level at now: min(cap, v + (now - t) * cap / win).
local function tb_level(v, t, cap, win, now)
  if not v then return cap end
  local elapsed = now - (t or now)
  if elapsed < 0 then elapsed = 0 end
  return tb_min(cap, v + elapsed * cap / win)
end

-- Whole units available (never negative).
local function tb_remaining(level)
  local rem = tb_floor(level + TB_EPS)
  if rem < 0 then rem = 0 end
  return rem
end

-- Ms until the bucket is full again (0 when full).
local function tb_until_full(level, cap, win)
  local ms = tb_ceil((cap - level) * win / cap)
  if ms < 0 then ms = 0 end
  return ms
end

-- Whether amount can be taken now, else ms until it can (-1: never, amount exceeds the capacity).
local function tb_wait(level, amount, cap, win)
  if level + TB_EPS >= amount then return 0 end
  if amount > cap then return -1 end
  return tb_ceil((amount - level) * win / cap)
end

-- A scope's six buckets (requests minute, hour, day, tokens minute, hour, day) are one string of 18 little-endian
-- doubles (ai.gpt.api.limits.ScopeBuckets): per bucket b (0..5) its level, the ms of that level, and the ms after
-- which it is full again plus one window and may be forgotten (0 = no state: full).

-- The 18 values of a scope's stored string (the scripts read it with their other keys in one MGET), or nil for
-- none (MGET's false).
local function tb_unpack(packed)
  if not packed then return nil end
  local st = {struct.unpack('<dddddddddddddddddd', packed)}
  st[19] = nil -- unpack also returns the next read position
  return st
end

-- Bucket b of st now has this level.
local function tb_put(st, b, level, cap, win, now)
  st[b * 3 + 1], st[b * 3 + 2] = level, now
  st[b * 3 + 3] = now + tb_until_full(level, cap, win) + win
end

-- Stores st at key, which lives as long as its last bucket.
local function tb_store(key, st, now)
  local last = 0
  for b = 0, 5 do
    if st[b * 3 + 3] > last then last = st[b * 3 + 3] end
  end
  redis.call('SET', key, struct.pack('<dddddddddddddddddd', unpack(st)), 'PX', last - now)
end
