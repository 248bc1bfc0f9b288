-- settle_v7.lua: settles a batch of requests (batch.lua) in one script call; each request atomically and at most
-- once per request id. Per request: gives back the unused reserved tokens (or takes the excess), releases the
-- concurrency lease and the credit hold, charges the exact cost to the hot balance, marks the request settled and
-- appends the usage event to the org's outbox, all in one step. Every key of a batch belongs to one organization,
-- so to one slot (see admit_v6.lua for the packed values).
-- v7 (replaces v6): the usage event is four fields (request_id, org_id, usage, ts_ms), "usage" holding the other
-- values comma-separated, as the gateway sends them (ARGV 7): Redis's cost of a stream entry goes with its number
-- of fields (here in the XADD, and again in every XRANGE that reads it back), so v6's 15 fields cost it several
-- microseconds per request more. ARGV is 9 values instead of 15, the ninth telling a request admitted from an
-- allotment, which has no hold or lease of its own to look for.
-- And KEYS 9, the balance's generation. A request settled while its organization has no hot balance charges none:
-- its cost reaches the balance only through a load (ledger minus the outbox, QueuedUsageBalance). A load that read
-- the outbox before this event was there would store a balance that never counts it, so v7 bumps the generation for
-- every request settled while its organization's balance was missing (once per batch, by their number), and that
-- load is not stored (admit_v6.lua stores a loaded balance only at the generation it was read at, as after
-- debit_end_v1.lua's drop).
-- v6 left that window open: every settlement of a busy organization during a slow reload went uncharged.
-- v6 (replaced v5): what the requests of one batch share is read and written once per batch (as admit_v6): the
-- balance and the buckets are read by an organization's first request, and the buckets, the holds total, the hold
-- expiries, the leases and the charge to the balance are written after the last one (one SET per scope, one
-- HINCRBY, one ZREM each, one DECRBY). A request costs four commands of its own: GET, HDEL of its hold, XADD of its
-- event, SET of the settled marker (v5: nine). The balance each reply reports is the one after that request's
-- charge, as in v5. v5, v6 and v7 replicas share every key.
-- (v5 replaced v4: one MGET instead of GET, EXISTS and up to two GETs.)
--
-- KEYS (of each request; see batch.lua for how a batch lays them out)
--   1  gptapi:{tag}:org:<orgId>:balance     string: hot balance, integer micro-USD (not created if missing)
--   2  gptapi:{tag}:org:<orgId>:holds       hash: requestId -> held micro-USD, field "_total" = sum of holds
--   3  gptapi:{tag}:org:<orgId>:holdexp     zset: requestId -> hold expiry ms
--   4  gptapi:{tag}:req:<requestId>         the reservation (may have expired); "S" once settled
--   5  gptapi:{tag}:conc:<keyId>            zset: requestId -> lease expiry ms
--   6  gptapi:{tag}:outbox                 stream: the org's events not yet in PostgreSQL (the writer deletes them)
--   7  gptapi:{tag}:lim:org:<orgId>         the org's buckets
--   8  gptapi:{tag}:lim:key:<keyId>         the key's buckets
--   9  gptapi:{tag}:org:<orgId>:balgen      string: generation of the hot balance (admit_v6.lua)
-- ARGV (of each request: 8)
--   1 request id  2 org id  3 key id  4 prompt tokens  5 completion tokens  6 cost micro-USD
--   7 the event's usage value: key_id,backend_id,endpoint,prompt_tokens,completion_tokens,cached_tokens,cost_micros,
--     status,estimated,latency_ms,ttft_ms,model (ai.gpt.api.usage.UsageStreams#PACKED_FIELDS; empty: unknown)
--   8 settled-marker TTL ms
--   9 "1" if the request was admitted from an allotment (allot_v1.lua): it has no reservation, hold or lease of its
--     own to release, so none is looked for; else "0"
-- Returns, per request (the script returns the array of them)
--   {"duplicate"}  already settled: nothing changed, no event
--   {"settled", balance_after, balance_present (0|1), reservation_found (0|1), outbox_entry_id, ts_ms}
--     balance_after is 0 when the balance key was missing (it is then left missing, not created negative)
--   {"error", "GPTAPI_MISMATCH ..."} (nothing changed) when the reservation belongs to another org/key
-- Event fields (all strings): request_id org_id usage (ARGV 7) ts_ms (from TIME)

-- #include token_bucket.lua
-- #include scope_cache.lua
-- #include batch.lua

-- Per organization (by its balance key): the hot balance as read (string, or false: missing, then it is not
-- created), the charges and the change of holds "_total" still to apply, the hold expiries to remove, and how many
-- requests were settled without a balance to charge (its generation is bumped by that many).
local orgs = {}
-- Per concurrency key: the leases to remove.
local leases = {}
-- The batch's time as the events and replies carry it (one number-to-string conversion per batch).
local ts = false

local function finish(now)
  for key, o in pairs(orgs) do
    if o.total_delta ~= 0 then redis.call('HINCRBY', o.holds_key, '_total', o.total_delta) end
    if #o.unexp > 0 then redis.call('ZREM', o.exp_key, unpack(o.unexp)) end
    if o.balance and o.charged ~= 0 then redis.call('DECRBY', key, o.charged) end
    -- Bumped by one per such request, as one call each would (batch.lua: a batch leaves what single calls leave).
    if o.uncharged > 0 and redis.call('INCRBY', o.gen_key, o.uncharged) == o.uncharged then
      -- Created here (no balance was ever stored, or its generation expired): it expires like a settled marker.
      redis.call('PEXPIRE', o.gen_key, o.gen_ttl)
    end
  end
  for key, ids in pairs(leases) do
    redis.call('ZREM', key, unpack(ids))
  end
  sc_flush(now)
end

-- KEYS and ARGV here are one request's (named so, the body reads as a script of its own).
local function settle(KEYS, ARGV, now)
  local rid = ARGV[1]
  if not ts then ts = tostring(now) end

  -- One read: the reservation (or the settled marker) and, the first time the batch meets them, the balance and the
  -- scopes' buckets.
  local o = orgs[KEYS[1]]
  local packed, balance_read, raw = sc_read(KEYS, o ~= nil)
  if packed == 'S' then
    return {'duplicate'}
  end
  if not o then
    o = {balance = balance_read, charged = 0, total_delta = 0, unexp = {}, holds_key = KEYS[2], exp_key = KEYS[3],
         uncharged = 0, gen_key = KEYS[9], gen_ttl = ARGV[8]}
    orgs[KEYS[1]] = o
  end

  -- Validate the reservation before writing anything (a script error does not roll back earlier writes).
  local res = false
  if packed then
    res = {struct.unpack('<dddddddddddddddddd', packed)}
    if res[1] ~= (batch_numbers[ARGV[2]] or num(ARGV[2])) or res[2] ~= (batch_numbers[ARGV[3]] or num(ARGV[3])) then
      return redis.error_reply('GPTAPI_MISMATCH reservation ' .. rid .. ' belongs to org ' .. res[1] .. ' key '
          .. res[2])
    end
  end

  -- This request's own writes first, the event before the marker: if either fails, the request is not settled
  -- (its reply is an error) and the batch's shared state is unchanged for it.
  local id = redis.call('XADD', KEYS[6], '*', 'request_id', rid, 'org_id', ARGV[2], 'usage', ARGV[7], 'ts_ms', ts)
  redis.call('SET', KEYS[4], 'S', 'PX', ARGV[8])
  -- The event is queued now: with no hot balance to charge, a load running meanwhile must not be stored.
  if not o.balance then o.uncharged = o.uncharged + 1 end

  -- Token buckets: give back reserved - actual (never above capacity), or take the excess (level may go negative).
  -- Token bucket b (3..5) of scope s: capacity and window at res[7 + (s - 1) * 6 + (b - 3) * 2] and the next.
  local c1, c2 = sc_get(KEYS[7], raw[1]), sc_get(KEYS[8], raw[2])
  if res then
    local delta = res[4] - ((batch_numbers[ARGV[4]] or num(ARGV[4])) + (batch_numbers[ARGV[5]] or num(ARGV[5])))
    for r = 7, 17, 2 do
      local cap = res[r]
      if cap > 0 then
        local c, b, win = r < 13 and c1 or c2, 3 + ((r - 7) % 6) / 2, res[r + 1]
        sc_set(c, b, math.min(cap, sc_level(c, b, cap, win, now) + delta), cap, win)
      end
    end
  end

  -- Concurrency lease and credit hold. A request admitted from an allotment (ARGV 9) has neither of its own (the
  -- allotment holds them until allot_end_v1.lua). Otherwise, without a reservation, whether there is a lease or a
  -- hold is unknown.
  if res or ARGV[9] ~= '1' then
    if not res or res[6] == 1 then
      local ids = leases[KEYS[5]]
      if not ids then
        ids = {}
        leases[KEYS[5]] = ids
      end
      ids[#ids + 1] = rid
    end
    if res then
      if redis.call('HDEL', KEYS[2], rid) == 1 then
        o.total_delta = o.total_delta - res[3]
      end
    else
      local held = redis.call('HGET', KEYS[2], rid)
      if held then
        redis.call('HDEL', KEYS[2], rid)
        o.total_delta = o.total_delta - tonumber(held)
      end
    end
    o.unexp[#o.unexp + 1] = rid
  end

  -- The exact charge. A missing balance is not created: PostgreSQL's ledger gets the debit from the usage event, and
  -- a load subtracts the event while it is in the outbox.
  local present, after = 0, 0
  if o.balance then
    present = 1
    o.charged = o.charged + (batch_numbers[ARGV[6]] or num(ARGV[6]))
    after = (batch_numbers[o.balance] or num(o.balance)) - o.charged
  end
  return {'settled', after, present, res and 1 or 0, id, ts}
end

return run_batch(settle, 9, 9, finish)
