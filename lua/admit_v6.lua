-- admit_v5.lua: admits a batch of requests (batch.lua) in one script call; each request atomically. Per request:
-- checks every limit and the credit, and only if ALL pass consumes one request from every request bucket, reserves
-- the estimated tokens in every token bucket, takes a concurrency lease and places a credit hold. A rejected request
-- changes nothing (beyond dropping already expired holds). Every key of a request belongs to one organization and
-- carries its hash tag, and every request of a batch has the same tag, so all share one slot.
-- v5 (replaces v4): v4's keys, values, arguments and results, in fewer commands (about 1 µs of Redis each): one
-- MGET reads the reservation, the balance and both scopes' buckets (v4: EXISTS and three GETs), and expired holds
-- are looked for at most once a second per organization (the holds field "_sweep"; v4 looked on every admission).
-- v4 and v5 replicas share every key exactly (v4 ignores "_sweep").
--
-- KEYS (of each request; see batch.lua for how a batch lays them out)
--   1  gptapi:{tag}:org:<orgId>:balance     string: hot balance, integer micro-USD (missing -> "no_balance")
--   2  gptapi:{tag}:org:<orgId>:holds       hash: requestId -> held micro-USD, "_total" = sum of holds,
--                                           "_renew" = ms after which balance, holds, holdexp TTLs are renewed,
--                                           "_sweep" = ms after which expired holds are looked for again
--   3  gptapi:{tag}:org:<orgId>:holdexp     zset: requestId -> hold expiry ms (abandoned holds are swept)
--   4  gptapi:{tag}:req:<requestId>         the reservation (packed, see below), then "S" once settled
--   5  gptapi:{tag}:conc:<keyId>            zset: requestId -> lease expiry ms
--   6  gptapi:{tag}:org:<orgId>:balgen      string: generation of the hot balance, bumped whenever it is
--                                           dropped or stored; a load read before a bump is not stored
--   7  gptapi:{tag}:lim:org:<orgId>         the org's six buckets (packed, see below)
--   8  gptapi:{tag}:lim:key:<keyId>         the key's six buckets
-- ARGV (of each request: 11)
--   1  request id            2  org id               3  key id
--   4  hold, micro-USD (>= 0; the request's maximum cost)
--   5  reserved tokens (prompt estimate + max_tokens), taken from every token bucket
--   6  concurrency limit of the key (0 = unlimited: no lease is taken)
--   7  reservation TTL ms (reservation, lease, hold expiry)
--   8  balance TTL ms (balance, holds, holdexp; renewed by admissions once half of it has passed)
--   9  balance loaded from PostgreSQL by the caller, micro-USD ("" = none)
--  10  the generation returned with "no_balance" before that load: the loaded balance is stored only if the
--      generation is still the same (nothing dropped the balance while it was being read)
--  11  15 little-endian doubles: the capacity of the 12 buckets (0 = unlimited) in the order org, key x requests,
--      tokens x minute, hour, day; then the length in ms of the minute, hour and day windows. A request bucket
--      takes 1, a token bucket the reserved tokens.
-- Returns, per request (the script returns the array of them)
--   {"no_balance", generation}  no balance key (or a stale load): load it from PostgreSQL and call again with it
--   {"duplicate"}   the request id already has a reservation or was already settled; nothing changed
--   otherwise an array of 12:
--    [1]  "ok" | "insufficient_quota" | "rate_limit" | "concurrency"  (reported in that order of precedence)
--    [2]  position (1..12, as in ARGV 11) of the tripped bucket, 0 unless "rate_limit"
--    [3]  retry-after ms for "rate_limit" (-1: never, the request exceeds the bucket's capacity); -1 otherwise
--    [4]  tightest request bucket: position (0 = no request limit), [5] limit, [6] remaining, [7] ms until full
--    [8]  tightest token bucket:   position (0 = no token limit),   [9] limit, [10] remaining, [11] ms until full
--    [12] available micro-USD (balance - holds) before this request
--   "Tightest" = least remaining (after this request if admitted), ties to the one that takes longest to refill.
-- Packed values (struct.pack, little-endian doubles):
--   buckets of a scope  18 doubles: per bucket (requests m, h, d, tokens m, h, d) level, ms of that level, and ms
--                       after which the bucket is full and may be forgotten (0 = no state: full). The key expires
--                       when its last bucket may be forgotten.
--   reservation         18 doubles: org, key, hold, tokens, admitted ms, lease (0|1), then per token bucket (org
--                       m, h, d, key m, h, d) its capacity (0 = not limited) and window ms.
-- Time comes only from TIME (once per batch).

-- #include token_bucket.lua
-- #include batch.lua

-- Expired holds are looked for at most once a second per organization, and at least every thousandth of the
-- reservation TTL (a test's short TTL: every admission): a hold expires only after that TTL (an hour) or, for a
-- debit, 60 s, and an abandoned one only keeps credit unavailable until swept, so a second later costs nothing,
-- while a busy organization's admissions skip a ZRANGEBYSCORE each.
local SWEEP_MAX_MS = 1000

-- KEYS and ARGV here are one request's (named so, the body reads as a script of its own).
local function admit(KEYS, ARGV, now)
  local rid = ARGV[1]
  -- One read: the reservation (any value: admitted or settled already), the balance and both scopes' buckets.
  local got = redis.call('MGET', KEYS[4], KEYS[1], KEYS[7], KEYS[8])
  if got[1] then
    return {'duplicate'}
  end

  local hold = tonumber(ARGV[4])
  local tokens = tonumber(ARGV[5])
  local conc_limit = tonumber(ARGV[6])
  local res_ttl = tonumber(ARGV[7])
  local bal_ttl = tonumber(ARGV[8])

  local credit = redis.call('HMGET', KEYS[2], '_total', '_renew', '_sweep')
  local total = tonumber(credit[1] or '0')
  local balance = got[2]

  -- Holds of requests that never settled (their gateway died) expire with their reservation; drop up to 16 when a
  -- sweep is due. An expired debit hold ("debit:<key>", see debit_hold_v1.lua) belongs to a transfer or deduction
  -- whose outcome is unknown (its gateway died between the hold and the end): the ledger is the truth, so the hot
  -- balance is dropped and reloaded from it. Until swept, an expired hold still counts in "_total": credit is only
  -- ever under-, never over-stated.
  local next_sweep = false
  local sweep_every = math.min(SWEEP_MAX_MS, math.floor(res_ttl / 1000))
  local sweep_at = tonumber(credit[3]) or 0
  -- A stamp further ahead than one period was set by a clock ahead of this one (a failover): due now.
  if now >= sweep_at or sweep_at > now + sweep_every then
    local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 16)
    if #expired > 0 then
      local amounts = redis.call('HMGET', KEYS[2], unpack(expired))
      local freed, drop = 0, false
      for i, id in ipairs(expired) do
        if amounts[i] then freed = freed + tonumber(amounts[i]) end
        if string.sub(id, 1, 6) == 'debit:' then drop = true end
      end
      redis.call('HDEL', KEYS[2], unpack(expired))
      redis.call('ZREM', KEYS[3], unpack(expired))
      if freed ~= 0 then
        total = redis.call('HINCRBY', KEYS[2], '_total', -freed)
      end
      if drop then
        redis.call('DEL', KEYS[1])
        redis.call('INCR', KEYS[6])
        redis.call('PEXPIRE', KEYS[6], bal_ttl)
        balance = false
      end
    end
    -- A full sweep may have left more: look again at the next admission. The stamp is stored with the hold (an
    -- admitted request), so a script call never creates the holds hash without its TTL.
    next_sweep = #expired == 16 and now or now + sweep_every
  end

  if not balance then
    local generation = redis.call('GET', KEYS[6]) or '0'
    if ARGV[9] == '' or ARGV[10] ~= generation then
      return {'no_balance', generation}
    end
    balance = ARGV[9]
    redis.call('SET', KEYS[1], balance, 'PX', bal_ttl)
    -- A new incarnation of the balance: a debit or credit that began before it must not adjust it (debit_end_v1).
    redis.call('INCR', KEYS[6])
    redis.call('PEXPIRE', KEYS[6], bal_ttl)
  end
  balance = tonumber(balance)

  -- Credit: available = balance - sum(holds) must cover the hold (a zero hold still needs a positive balance).
  local available = balance - total
  local quota_ok
  if hold > 0 then quota_ok = available >= hold else quota_ok = available > 0 end

  -- Buckets. caps[p], wins[p], levels[p] by position p = 1..12; state[s] = the 18 stored doubles of scope s (1 org,
  -- 2 key), used only for a scope with a limit.
  local caps = {struct.unpack('<ddddddddddddddd', ARGV[11])}
  local window = {caps[13], caps[14], caps[15]}
  local state = {false, false}
  local levels, wins, limited = {}, {}, {false, false}
  for p = 1, 12 do
    if caps[p] > 0 then limited[p <= 6 and 1 or 2] = true end
  end
  for s = 1, 2 do
    if limited[s] then
      state[s] = tb_unpack(got[2 + s]) or false
    end
  end
  local fail, fail_retry = 0, 0
  for p = 1, 12 do
    local cap = caps[p]
    if cap > 0 then
      local s, b = p <= 6 and 1 or 2, (p - 1) % 6
      local win = window[b % 3 + 1]
      local amount = b < 3 and 1 or tokens
      local st = state[s]
      local level = cap
      if st and st[b * 3 + 3] > now then level = tb_level(st[b * 3 + 1], st[b * 3 + 2], cap, win, now) end
      levels[p], wins[p] = level, win
      local retry = tb_wait(level, amount, cap, win)
      if retry ~= 0 and (fail == 0 or (fail_retry ~= -1 and (retry == -1 or retry > fail_retry))) then
        fail, fail_retry = p, retry
      end
    end
  end

  -- Concurrency: leases past their expiry belong to requests that will never settle and are not counted.
  local conc_ok = true
  if conc_limit > 0 then
    conc_ok = redis.call('ZCOUNT', KEYS[5], now + 1, '+inf') < conc_limit
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
    -- Each limited scope: consume, and store all six buckets again (unlimited ones keep their state); a bucket may
    -- be forgotten one window after it is full again, and the key lives as long as its last bucket.
    for s = 1, 2 do
      if limited[s] then
        local st = state[s] or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
        for b = 0, 5 do
          local p = (s - 1) * 6 + b + 1
          if caps[p] > 0 then
            levels[p] = levels[p] - (b < 3 and 1 or tokens)
            tb_put(st, b, levels[p], caps[p], wins[p], now)
          end
        end
        tb_store(KEYS[6 + s], st, now)
      end
    end
    -- The hold (with the next sweep's stamp when this call swept), and every half balance TTL the TTLs of
    -- balance, holds and their expiries, together.
    redis.call('ZADD', KEYS[3], now + res_ttl, rid)
    local fields = {rid, hold, '_total', total + hold}
    if next_sweep then
      fields[5], fields[6] = '_sweep', next_sweep
    end
    if now >= (tonumber(credit[2]) or 0) then
      fields[#fields + 1], fields[#fields + 2] = '_renew', now + math.floor(bal_ttl / 2)
      redis.call('HSET', KEYS[2], unpack(fields))
      redis.call('PEXPIRE', KEYS[1], bal_ttl)
      redis.call('PEXPIRE', KEYS[2], bal_ttl)
      redis.call('PEXPIRE', KEYS[3], bal_ttl)
      if conc_limit > 0 then
        -- Now and then, forget the leases of requests that will never settle.
        redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
      end
    else
      redis.call('HSET', KEYS[2], unpack(fields))
    end
    local lease = 0
    if conc_limit > 0 then
      redis.call('ZADD', KEYS[5], now + res_ttl, rid)
      redis.call('PEXPIRE', KEYS[5], res_ttl)
      lease = 1
    end
    -- The reservation: the token buckets' capacities and windows, so settlement gives back the right amount.
    local c = {}
    for p = 4, 12 do
      if p <= 6 or p >= 10 then
        c[#c + 1] = caps[p]
        c[#c + 1] = caps[p] > 0 and wins[p] or 0
      end
    end
    redis.call('SET', KEYS[4], struct.pack('<dddddddddddddddddd', tonumber(ARGV[2]), tonumber(ARGV[3]), hold,
        tokens, now, lease, unpack(c)), 'PX', res_ttl)
  end

  -- Header values for the tightest request window (t = 1) and the tightest token window (t = 2).
  local best, best_rem, best_reset = {0, 0}, {0, 0}, {0, 0}
  for p = 1, 12 do
    local cap = caps[p]
    if cap > 0 then
      local t = (p - 1) % 6 < 3 and 1 or 2
      local rem = tb_remaining(levels[p])
      local reset = tb_until_full(levels[p], cap, wins[p])
      if best[t] == 0 or rem < best_rem[t] or (rem == best_rem[t] and reset > best_reset[t]) then
        best[t], best_rem[t], best_reset[t] = p, rem, reset
      end
    end
  end
  local header = {status, fail, retry}
  for t = 1, 2 do
    if best[t] == 0 then
      header[#header + 1], header[#header + 2], header[#header + 3], header[#header + 4] = 0, -1, -1, -1
    else
      header[#header + 1], header[#header + 2], header[#header + 3], header[#header + 4] =
          best[t], caps[best[t]], best_rem[t], best_reset[t]
    end
  end
  header[12] = available
  return header
end

return run_batch(admit, 8, 11)
