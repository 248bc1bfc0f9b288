-- plan.lua: a plan's limits as the metering scripts receive them (admit_v6.lua's ARGV 11, allot_v1.lua's ARGV 7:
-- 15 little-endian doubles, the capacity of the 12 buckets, 0 = unlimited, in the order org, key x requests,
-- tokens x minute, hour, day, then the length in ms of the minute, hour and day windows), and the rate-limit
-- header values computed from them. Not a script of its own: admit_v6.lua, allot_v1.lua and allot_end_v1.lua include
-- it after token_bucket.lua (it uses tb_remaining and tb_until_full).

-- Per packed plan (the requests of one key share it): decoded once per script call.
local plans = {}

-- The plan packed in packed, decoded: caps[p] and wins[p] by position p = 1..12 (wins[p] is 0 for an unlimited
-- bucket), and its limited buckets in order: active[i] their positions, scope[i] 1 (org) or 2 (key), bucket[i] 0..5
-- (requests minute, hour, day, tokens minute, hour, day).
-- Callers write `plans[packed] or plan_of(packed)`: a table read, no call, for a plan already decoded.
local function plan_of(packed)
  local c = {struct.unpack('<ddddddddddddddd', packed)}
  local plan = {caps = c, wins = {}, active = {}, scope = {}, bucket = {}}
  for p = 1, 12 do
    local b = (p - 1) % 6
    plan.wins[p] = 0
    if c[p] > 0 then
      plan.wins[p] = c[13 + b % 3]
      local i = #plan.active + 1
      plan.active[i], plan.scope[i], plan.bucket[i] = p, p <= 6 and 1 or 2, b
    end
  end
  plans[packed] = plan
  return plan
end

-- The header values for the tightest request window and the tightest token window of plan, given levels[i], the
-- level of its i-th limited bucket: least remaining, ties to the one that takes longest to refill (only a candidate
-- needs its refill time). Returns, for requests then tokens, the position (0: no such limit), the limit, the
-- remaining and the ms until full (each -1 without such a limit): 8 values.
local function plan_tightest(plan, levels)
  local caps, wins, active, bucket_of = plan.caps, plan.wins, plan.active, plan.bucket
  local r, r_rem, r_reset, t, t_rem, t_reset = 0, 0, 0, 0, 0, 0
  for i = 1, #active do
    local p = active[i]
    local rem = tb_remaining(levels[i])
    if bucket_of[i] < 3 then
      if r == 0 or rem <= r_rem then
        local reset = tb_until_full(levels[i], caps[p], wins[p])
        if r == 0 or rem < r_rem or reset > r_reset then r, r_rem, r_reset = p, rem, reset end
      end
    elseif t == 0 or rem <= t_rem then
      local reset = tb_until_full(levels[i], caps[p], wins[p])
      if t == 0 or rem < t_rem or reset > t_reset then t, t_rem, t_reset = p, rem, reset end
    end
  end
  return r, r == 0 and -1 or caps[r], r == 0 and -1 or r_rem, r == 0 and -1 or r_reset,
    t, t == 0 and -1 or caps[t], t == 0 and -1 or t_rem, t == 0 and -1 or t_reset
end
