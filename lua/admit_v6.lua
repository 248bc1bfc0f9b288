-- admit_v6.lua: admits a batch of requests (batch.lua) in one script call; each request atomically. Per request:
-- checks every limit and the credit, and only if ALL pass consumes one request from every request bucket, reserves
-- the estimated tokens in every token bucket, takes a concurrency lease and places a credit hold. A rejected request
-- changes nothing (beyond dropping already expired holds). Every key of a request belongs to one organization and
-- carries its hash tag, and every request of a batch has the same tag, so all share one slot.
-- v6 (replaces v5): v5's keys, values, arguments and results; what the requests of one batch share is read and
-- written once per batch instead of once per request. The first request of an organization reads its balance,
-- holds fields and buckets; later ones read only their own reservation key. The buckets, the holds hash, the hold
-- expiries and the concurrency leases are kept in memory while the batch runs and written after its last request
-- (one SET per scope, one HSET, one ZADD each), so a request costs two commands of its own (GET, and the SET of its
-- reservation) instead of nine. The requests still run one after the other, each seeing what the ones before it
-- admitted, so what a batch admits and what it stores are exactly v5's. v5 and v6 replicas share every key.
-- (v5 replaced v4: one MGET instead of EXISTS and three GETs, and expired holds looked for at most once a second per
-- organization, the holds field "_sweep".)
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
-- #include scope_cache.lua
-- #include batch.lua
-- #include plan.lua

-- Expired holds are looked for at most once a second per organization, and at least every thousandth of the
-- reservation TTL (a test's short TTL: every admission): a hold expires only after that TTL (an hour) or, for a
-- debit, 60 s, and an abandoned one only keeps credit unavailable until swept, so a second later costs nothing,
-- while a busy organization's admissions skip a ZRANGEBYSCORE each.
local SWEEP_MAX_MS = 1000

-- Per organization (by its balance key), what this batch read of its credit and what it has still to write:
--   balance  the hot balance (string) or false          total  holds "_total"
--   renew, sweep  the holds fields "_renew" and "_sweep" (numbers; 0 when missing)
--   fields   holds fields to HSET (name, value, ...)    exp    hold expiries to ZADD (score, member, ...)
--   touch    the balance TTL to renew balance, holds and holdexp with, or false
local orgs = {}
-- Per reservation TTL (ARGV 7, a string): the expiry of holds and leases taken now, as the string ZADD stores.
local expiries = {}
-- The levels of the request being admitted, by its plan's limited buckets (reused: every request writes the ones it
-- reads).
local levels = {}
-- Per concurrency key: leases counted (unexpired, including this batch's), leases to ZADD, whether to drop expired
-- ones first, and the TTL to set.
local leases = {}

-- Writes what the batch changed of org o (before a sweep reads the holds, and after the last request).
local function flush_org(o, now)
  if #o.fields > 0 then
    o.fields[#o.fields + 1], o.fields[#o.fields + 2] = '_total', o.total
    redis.call('HSET', o.holds_key, unpack(o.fields))
    o.fields = {}
  end
  if #o.exp > 0 then
    redis.call('ZADD', o.exp_key, unpack(o.exp))
    o.exp = {}
  end
  if o.touch then
    redis.call('PEXPIRE', o.balance_key, o.touch)
    redis.call('PEXPIRE', o.holds_key, o.touch)
    redis.call('PEXPIRE', o.exp_key, o.touch)
    o.touch = false
  end
end

local function finish(now)
  for _, o in pairs(orgs) do flush_org(o, now) end
  for key, l in pairs(leases) do
    if l.trim then redis.call('ZREMRANGEBYSCORE', key, '-inf', now) end
    if #l.add > 0 then
      redis.call('ZADD', key, unpack(l.add))
      redis.call('PEXPIRE', key, l.ttl)
    end
  end
  sc_flush(now)
end

-- KEYS and ARGV here are one request's (named so, the body reads as a script of its own).
local function admit(KEYS, ARGV, now)
  local rid = ARGV[1]
  -- One read: the reservation (any value: admitted or settled already) and, the first time the batch meets them, the
  -- balance and the scopes' buckets.
  local o = orgs[KEYS[1]]
  local reservation, balance_read, raw = sc_read(KEYS, o ~= nil)
  if reservation then
    return {'duplicate'}
  end
  if not o then
    local credit = redis.call('HMGET', KEYS[2], '_total', '_renew', '_sweep')
    o = {balance = balance_read, total = tonumber(credit[1] or '0'), renew = tonumber(credit[2]) or 0,
         sweep = tonumber(credit[3]) or 0, fields = {}, exp = {}, touch = false,
         balance_key = KEYS[1], holds_key = KEYS[2], exp_key = KEYS[3]}
    orgs[KEYS[1]] = o
  end

  -- (num only on a miss: the requests of a batch repeat these numbers.)
  local hold = batch_numbers[ARGV[4]] or num(ARGV[4])
  local tokens = batch_numbers[ARGV[5]] or num(ARGV[5])
  local conc_limit = batch_numbers[ARGV[6]] or num(ARGV[6])
  local res_ttl = batch_numbers[ARGV[7]] or num(ARGV[7])
  local bal_ttl = batch_numbers[ARGV[8]] or num(ARGV[8])

  -- Holds of requests that never settled (their gateway died) expire with their reservation; drop up to 16 when a
  -- sweep is due. An expired debit hold ("debit:<key>", see debit_hold_v1.lua) belongs to a transfer or deduction
  -- whose outcome is unknown (its gateway died between the hold and the end): the ledger is the truth, so the hot
  -- balance is dropped and reloaded from it. Until swept, an expired hold still counts in "_total": credit is only
  -- ever under-, never over-stated.
  local next_sweep = false
  local sweep_every = math.min(SWEEP_MAX_MS, math.floor(res_ttl / 1000))
  -- A stamp further ahead than one period was set by a clock ahead of this one (a failover): due now.
  if now >= o.sweep or o.sweep > now + sweep_every then
    -- The sweep reads the holds as stored: write this batch's first (its holds expire an hour from now).
    flush_org(o, now)
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
        o.total = redis.call('HINCRBY', KEYS[2], '_total', -freed)
      end
      if drop then
        redis.call('DEL', KEYS[1])
        redis.call('INCR', KEYS[6])
        redis.call('PEXPIRE', KEYS[6], bal_ttl)
        o.balance = false
      end
    end
    -- A full sweep may have left more: look again at the next admission. The stamp is stored with the hold (an
    -- admitted request), so a script call never creates the holds hash without its TTL.
    next_sweep = #expired == 16 and now or now + sweep_every
  end

  if not o.balance then
    local generation = redis.call('GET', KEYS[6]) or '0'
    if ARGV[9] == '' or ARGV[10] ~= generation then
      return {'no_balance', generation}
    end
    redis.call('SET', KEYS[1], ARGV[9], 'PX', bal_ttl)
    -- A new incarnation of the balance: a debit or credit that began before it must not adjust it (debit_end_v1).
    redis.call('INCR', KEYS[6])
    redis.call('PEXPIRE', KEYS[6], bal_ttl)
    o.balance = ARGV[9]
  end
  local balance = batch_numbers[o.balance] or num(o.balance)
  local total = o.total

  -- Credit: available = balance - sum(holds) must cover the hold (a zero hold still needs a positive balance).
  local available = balance - total
  local quota_ok
  if hold > 0 then quota_ok = available >= hold else quota_ok = available > 0 end

  -- Buckets: the plan's limited buckets only (for the default plan most of the twelve are unlimited). A failing
  -- bucket is the one with the longest wait (-1, never, beats any wait).
  local plan = plans[ARGV[11]] or plan_of(ARGV[11])
  local caps, wins, active, scope_of, bucket_of = plan.caps, plan.wins, plan.active, plan.scope, plan.bucket
  local org_scope, key_scope = sc_get(KEYS[7], raw[1]), sc_get(KEYS[8], raw[2])
  local fail, fail_retry = 0, 0
  for i = 1, #active do
    local p = active[i]
    local b = bucket_of[i]
    local level = sc_level(scope_of[i] == 1 and org_scope or key_scope, b, caps[p], wins[p], now)
    levels[i] = level
    local retry = tb_wait(level, b < 3 and 1 or tokens, caps[p], wins[p])
    if retry ~= 0 and (fail == 0 or (fail_retry ~= -1 and (retry == -1 or retry > fail_retry))) then
      fail, fail_retry = p, retry
    end
  end

  -- Concurrency: leases past their expiry belong to requests that will never settle and are not counted.
  local conc_ok = true
  local lease = false
  if conc_limit > 0 then
    lease = leases[KEYS[5]]
    if not lease then
      lease = {count = redis.call('ZCOUNT', KEYS[5], now + 1, '+inf'), add = {}, trim = false, ttl = res_ttl}
      leases[KEYS[5]] = lease
    end
    conc_ok = lease.count < conc_limit
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
    -- The reservation first: the one write of this request's own, so if it fails nothing of the batch's state has
    -- changed for this request. It carries the token buckets' capacities and windows, so settlement gives back the
    -- right amount (wins[p] is 0 for an unlimited bucket).
    redis.call('SET', KEYS[4], struct.pack('<dddddddddddddddddd', batch_numbers[ARGV[2]] or num(ARGV[2]),
        batch_numbers[ARGV[3]] or num(ARGV[3]), hold, tokens, now, lease and 1 or 0, caps[4], wins[4], caps[5],
        wins[5], caps[6], wins[6], caps[10], wins[10], caps[11], wins[11], caps[12], wins[12]), 'PX', ARGV[7])
    -- Consume from every limited bucket (sc_flush stores them after the batch's last request).
    for i = 1, #active do
      local p, b = active[i], bucket_of[i]
      levels[i] = levels[i] - (b < 3 and 1 or tokens)
      sc_set(scope_of[i] == 1 and org_scope or key_scope, b, levels[i], caps[p], wins[p])
    end
    -- The hold (with the next sweep's stamp when this request swept), and every half balance TTL the TTLs of
    -- balance, holds and their expiries, together.
    o.total = total + hold
    local f = o.fields
    local expiry = expiries[ARGV[7]]
    if not expiry then
      expiry = tostring(now + res_ttl)
      expiries[ARGV[7]] = expiry
    end
    f[#f + 1], f[#f + 2] = rid, ARGV[4]
    o.exp[#o.exp + 1], o.exp[#o.exp + 2] = expiry, rid
    if next_sweep then
      f[#f + 1], f[#f + 2] = '_sweep', next_sweep
      o.sweep = next_sweep
    end
    if now >= o.renew then
      o.renew = now + math.floor(bal_ttl / 2)
      f[#f + 1], f[#f + 2] = '_renew', o.renew
      o.touch = bal_ttl
      -- Now and then, forget the leases of requests that will never settle.
      if lease then lease.trim = true end
    end
    if lease then
      lease.count = lease.count + 1
      lease.add[#lease.add + 1], lease.add[#lease.add + 2] = expiry, rid
      lease.ttl = res_ttl
    end
  end

  -- Header values for the tightest request window and the tightest token window (plan.lua).
  local r, r_cap, r_rem, r_reset, t, t_cap, t_rem, t_reset = plan_tightest(plan, levels)
  return {status, fail, retry, r, r_cap, r_rem, r_reset, t, t_cap, t_rem, t_reset, available}
end

return run_batch(admit, 8, 11, finish)
