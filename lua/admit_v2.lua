-- admit_v2.lua: admits one request, atomically. Checks every limit and the credit, and only if ALL pass consumes
-- one request from every request bucket, reserves the estimated tokens in every token bucket, takes a concurrency
-- lease and places a credit hold. A rejected call changes nothing (beyond dropping already expired leases/holds).
-- Every key belongs to one organization and carries its shard hash tag {s<orgId % 16>}, so all share one slot.
--
-- KEYS
--   1  gptapi:{s<shard>}:org:<orgId>:balance     string: hot balance, integer micro-USD (missing -> "no_balance")
--   2  gptapi:{s<shard>}:org:<orgId>:holds       hash: requestId -> held micro-USD, field "_total" = sum of holds
--   3  gptapi:{s<shard>}:org:<orgId>:holdexp     zset: requestId -> hold expiry ms (abandoned holds are swept)
--   4  gptapi:{s<shard>}:req:<requestId>         hash: the reservation, read by settle_v1.lua
--   5  gptapi:{s<shard>}:settled:<requestId>     settlement marker (an id already settled cannot be admitted again)
--   6  gptapi:{s<shard>}:conc:<keyId>            zset: requestId -> lease expiry ms
--   7  gptapi:{s<shard>}:org:<orgId>:balgen      string: generation of the hot balance, bumped whenever it is
--                                                dropped or stored; a load read before a bump is not stored
--   8… gptapi:{s<shard>}:b:<org|key>:<id>:<req|tok>:<m|h|d>, one per enforced limit, in ARGV order
-- ARGV
--   1  request id            2  org id               3  key id
--   4  hold, micro-USD (>= 0; the request's maximum cost)
--   5  reserved tokens (prompt estimate + max_tokens), taken from every token bucket
--   6  concurrency limit of the key (0 = unlimited: no lease is taken)
--   7  reservation TTL ms (request record, lease, hold expiry)
--   8  balance TTL ms (balance, holds, holdexp; renewed by admissions once half of it has passed)
--   9  balance loaded from PostgreSQL by the caller, micro-USD ("" = none)
--  10  the generation returned with "no_balance" before that load: the loaded balance is stored only if the
--      generation is still the same (nothing dropped the balance while it was being read)
--  11  number of buckets N, then N triples: kind ("r" = 1 request, "t" = reserved tokens), capacity, window ms
-- Returns
--   {"no_balance", generation}  no balance key (or a stale load): load it from PostgreSQL and call again with it
--   {"duplicate"}   the request id already has a reservation or was already settled; nothing changed
--   otherwise an array of 12:
--    [1]  "ok" | "insufficient_quota" | "rate_limit" | "concurrency"  (reported in that order of precedence)
--    [2]  index (1-based, into the N buckets) of the tripped bucket, 0 unless "rate_limit"
--    [3]  retry-after ms for "rate_limit" (-1: never, the request exceeds the bucket's capacity); -1 otherwise
--    [4]  tightest request bucket: index (0 = no request limit), [5] limit, [6] remaining, [7] ms until full
--    [8]  tightest token bucket:   index (0 = no token limit),   [9] limit, [10] remaining, [11] ms until full
--    [12] available micro-USD (balance - holds) before this request
--   "Tightest" = least remaining (after this request if admitted), ties to the one that takes longest to refill.
-- Buckets are hashes {v = level, t = ms of v, x = ms the key's TTL was last set to end}. They refill continuously:
-- level = min(C, v + (now - t) * C / W); a missing bucket is full. Time comes only from TIME.

local EPS = 1e-9
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local rid = ARGV[1]
if redis.call('EXISTS', KEYS[4], KEYS[5]) > 0 then
  return {'duplicate'}
end

local hold = tonumber(ARGV[4])
local tokens = tonumber(ARGV[5])
local conc_limit = tonumber(ARGV[6])
local res_ttl = tonumber(ARGV[7])
local bal_ttl = tonumber(ARGV[8])
local n = tonumber(ARGV[11])

-- Holds of requests that never settled (their gateway died) expire with their reservation; drop a few per call.
-- An expired debit hold ("debit:<key>", see debit_hold_v1.lua) belongs to a transfer or deduction whose outcome
-- is unknown (its gateway died between the hold and the end): the ledger is the truth, so the hot balance is
-- dropped and reloaded from it.
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 16)
local drop = false
for _, id in ipairs(expired) do
  local amount = redis.call('HGET', KEYS[2], id)
  if amount then
    redis.call('HDEL', KEYS[2], id)
    redis.call('HINCRBY', KEYS[2], '_total', -tonumber(amount))
  end
  redis.call('ZREM', KEYS[3], id)
  if string.sub(id, 1, 6) == 'debit:' then drop = true end
end
if drop then
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[7])
  redis.call('PEXPIRE', KEYS[7], bal_ttl)
end

local balance = redis.call('GET', KEYS[1])
if not balance then
  local generation = redis.call('GET', KEYS[7]) or '0'
  if ARGV[9] == '' or ARGV[10] ~= generation then
    return {'no_balance', generation}
  end
  balance = ARGV[9]
  redis.call('SET', KEYS[1], balance, 'PX', bal_ttl)
  -- A new incarnation of the balance: a debit or credit that began before it must not adjust it (debit_end_v1).
  redis.call('INCR', KEYS[7])
  redis.call('PEXPIRE', KEYS[7], bal_ttl)
end
balance = tonumber(balance)

-- Credit: available = balance - sum(holds) must cover the hold (a zero hold still needs a positive balance).
local available = balance - tonumber(redis.call('HGET', KEYS[2], '_total') or '0')
local quota_ok
if hold > 0 then quota_ok = available >= hold else quota_ok = available > 0 end

-- Buckets: current levels, and the one that needs the longest wait if several are short.
local kinds, caps, wins, amounts, levels, deadlines = {}, {}, {}, {}, {}, {}
local fail, fail_retry = 0, 0
for i = 1, n do
  local a = 11 + (i - 1) * 3
  local kind, cap, win = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local amount = 1
  if kind == 't' then amount = tokens end
  local level = cap
  local state = redis.call('HMGET', KEYS[7 + i], 'v', 't', 'x')
  deadlines[i] = tonumber(state[3]) or 0
  if state[1] then
    local elapsed = now - (tonumber(state[2]) or now)
    if elapsed < 0 then elapsed = 0 end
    level = math.min(cap, tonumber(state[1]) + elapsed * cap / win)
  end
  kinds[i], caps[i], wins[i], amounts[i], levels[i] = kind, cap, win, amount, level
  if level + EPS < amount then
    local retry = -1
    if amount <= cap then retry = math.ceil((amount - level) * win / cap) end
    if fail == 0 or (fail_retry ~= -1 and (retry == -1 or retry > fail_retry)) then
      fail, fail_retry = i, retry
    end
  end
end

-- Concurrency: leases past their expiry belong to requests that will never settle.
local conc_ok = true
if conc_limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
  conc_ok = redis.call('ZCARD', KEYS[6]) < conc_limit
end

local status, retry = 'ok', -1
if not quota_ok then
  status = 'insufficient_quota'
  fail = 0
elseif fail > 0 then
  status, retry = 'rate_limit', fail_retry
elseif not conc_ok then
  status = 'concurrency'
end

if status == 'ok' then
  for i = 1, n do
    local after = levels[i] - amounts[i]
    levels[i] = after
    local key = KEYS[7 + i]
    -- Once full, a bucket equals a missing key. It must live at least until full (+ one window of slack); x is
    -- the expiry last set, renewed (with another window of slack) only when that is no longer enough.
    local until_full = math.ceil((caps[i] - after) * wins[i] / caps[i])
    if now + until_full + wins[i] > deadlines[i] then
      local ttl = until_full + 2 * wins[i]
      redis.call('HSET', key, 'v', after, 't', now, 'x', now + ttl)
      redis.call('PEXPIRE', key, ttl)
    else
      redis.call('HSET', key, 'v', after, 't', now)
    end
  end
  redis.call('HSET', KEYS[2], rid, hold)
  redis.call('HINCRBY', KEYS[2], '_total', hold)
  redis.call('ZADD', KEYS[3], now + res_ttl, rid)
  -- Balance, holds and their expiries are renewed together whenever half their TTL has passed.
  if redis.call('PTTL', KEYS[2]) < bal_ttl / 2 then
    redis.call('PEXPIRE', KEYS[1], bal_ttl)
    redis.call('PEXPIRE', KEYS[2], bal_ttl)
    redis.call('PEXPIRE', KEYS[3], bal_ttl)
  end
  local lease = 0
  if conc_limit > 0 then
    redis.call('ZADD', KEYS[6], now + res_ttl, rid)
    redis.call('PEXPIRE', KEYS[6], res_ttl)
    lease = 1
  end
  -- The reservation: token buckets with their capacity and window, so settlement gives back the right amount.
  local rec = {'org', ARGV[2], 'key', ARGV[3], 'hold', hold, 'tokens', tokens, 'admitted_ms', now, 'lease', lease}
  local nt = 0
  for i = 1, n do
    if kinds[i] == 't' then
      nt = nt + 1
      local j = tostring(nt)
      rec[#rec + 1] = 'tk' .. j; rec[#rec + 1] = KEYS[7 + i]
      rec[#rec + 1] = 'tc' .. j; rec[#rec + 1] = caps[i]
      rec[#rec + 1] = 'tw' .. j; rec[#rec + 1] = wins[i]
    end
  end
  rec[#rec + 1] = 'nt'; rec[#rec + 1] = nt
  redis.call('HSET', KEYS[4], unpack(rec))
  redis.call('PEXPIRE', KEYS[4], res_ttl)
end

-- Header values for the tightest request window and the tightest token window.
local function tightest(kind)
  local best, best_rem, best_reset = 0, 0, 0
  for i = 1, n do
    if kinds[i] == kind then
      local rem = math.floor(levels[i] + EPS)
      if rem < 0 then rem = 0 end
      local reset = math.ceil((caps[i] - levels[i]) * wins[i] / caps[i])
      if reset < 0 then reset = 0 end
      if best == 0 or rem < best_rem or (rem == best_rem and reset > best_reset) then
        best, best_rem, best_reset = i, rem, reset
      end
    end
  end
  if best == 0 then return 0, -1, -1, -1 end
  return best, caps[best], best_rem, best_reset
end

local ri, rl, rr, rs = tightest('r')
local ti, tl, tr, ts = tightest('t')
return {status, fail, retry, ri, rl, rr, rs, ti, tl, tr, ts, available}
