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
