-- settle_v8.lua: settles a batch of one organization's requests (batch.lua) in one script call; each request
-- atomically and at most once per request id. Per request: gives back the unused reserved tokens (or takes the
-- excess), releases the concurrency lease and the credit hold, charges the exact cost to the hot balance, marks the
-- request settled and appends the usage event to the org's outbox, all in one step.
-- v8 (replaces v7; the same keys, values, event and effects, so v7 and v8 replicas can run side by side): what is
-- cheaper for Redis to be told and to answer. Counted with valgrind (src/bench/lua_cost.py --callgrind), a v7
-- settlement of a request admitted from an allotment cost ~84,000 instructions, of which ~38,000 were its three
-- commands (each redis.call serializes its reply and parses it back into Lua), ~7,000 its reply as a six-element
-- table, and ~800 each of its 18 keys and arguments. So:
--   - the organization's keys and arguments come once per call, as batch.lua's header (6 keys, 2 arguments), and a
--     request brings only its own (3 keys, 7 arguments; v7: 9 and 9);
--   - the reply of a request is one string (below), not a table;
--   - a request admitted from an allotment (ARGV 7 = "1": no reservation of its own) marks itself settled and learns
--     whether it already was with one command, SET ... GET, instead of a GET and a SET. Its event follows; should
--     the XADD fail, the marker is taken back (the key restored to what the SET replaced), so a request is never
--     marked settled without its event. A duplicate's SET renews its marker's TTL (v7 left it): harmless, the
--     marker only refuses settlements. A request admitted through admit_v6.lua keeps v7's order (its reservation
--     read first, the event, then the marker).
-- Every key belongs to one organization, so to one slot (see admit_v6.lua for the packed values).
--
-- KEYS
--   header (once per call)   1 gptapi:{tag}:org:<orgId>:balance   string: hot balance, micro-USD (not created if missing)
--                            2 gptapi:{tag}:org:<orgId>:holds     hash: requestId -> held micro-USD, "_total" their sum
--                            3 gptapi:{tag}:org:<orgId>:holdexp   zset: requestId -> hold expiry ms
--                            4 gptapi:{tag}:outbox                stream: the org's events not yet in PostgreSQL
--                            5 gptapi:{tag}:lim:org:<orgId>       the org's buckets
--                            6 gptapi:{tag}:org:<orgId>:balgen    string: generation of the hot balance (admit_v6.lua)
--   each request's own       1 gptapi:{tag}:req:<requestId>       the reservation (may have expired); "S" once settled
--                            2 gptapi:{tag}:conc:<keyId>          zset: requestId -> lease expiry ms
--                            3 gptapi:{tag}:lim:key:<keyId>       the key's buckets
-- ARGV
--   header                   1 org id   2 settled-marker TTL ms
--   each request's own       1 request id   2 key id   3 prompt tokens   4 completion tokens   5 cost micro-USD
--                            6 the event's usage value: key_id,backend_id,endpoint,prompt_tokens,completion_tokens,
--                              cached_tokens,cost_micros,status,estimated,latency_ms,ttft_ms,model
--                              (ai.gpt.api.usage.UsageStreams#PACKED_FIELDS)
--                            7 "1" if the request was admitted from an allotment (allot_v1.lua), else "0"
-- Returns, per request (the script returns the array of them)
--   "D"                                      already settled: nothing changed, no event
--   "S,<balance_after>,<balance_present>,<reservation_found>,<outbox_entry_id>,<ts_ms>"
--     balance_after is 0 when the balance key was missing (it is then left missing, not created negative);
--     balance_present and reservation_found are 0 or 1
--   {"error", "GPTAPI_MISMATCH ..."} (nothing changed) when the reservation belongs to another org/key
-- Event fields (all strings): request_id org_id usage (ARGV 6) ts_ms (from TIME)
-- A request settled while its organization has no hot balance charges none: its cost reaches the balance only
-- through a load (ledger minus the outbox), so the balance's generation is bumped by their number (once per call,
-- created with the marker's TTL), and a load that read the outbox before their events is not stored (v7).

-- #include token_bucket.lua
-- #include scope_cache.lua
-- #include batch.lua

local BALANCE, HOLDS, HOLD_EXP, OUTBOX, ORG_LIMITS, BALANCE_GEN = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local ORG, TTL = ARGV[1], ARGV[2]
local org_id = tonumber(ORG)

-- The organization as the call's first request read it: the hot balance (string, or false: missing, then it is
-- not created), the charges and the change of holds "_total" still to apply, the hold expiries to remove, and how
-- many requests were settled without a balance to charge. Written once, after the last request (finish).
local org = false
-- Per concurrency key: the leases to remove.
local leases = {}
-- The call's time as the events and replies carry it (one number-to-string conversion per call).
local ts = false

local function finish(now)
  if org then
    if org.total_delta ~= 0 then redis.call('HINCRBY', HOLDS, '_total', org.total_delta) end
    if #org.unexp > 0 then redis.call('ZREM', HOLD_EXP, unpack(org.unexp)) end
    if org.balance and org.charged ~= 0 then redis.call('DECRBY', BALANCE, org.charged) end
    -- Bumped by one per such request, as one call each would (batch.lua: a batch leaves what single calls leave).
    if org.uncharged > 0 and redis.call('INCRBY', BALANCE_GEN, org.uncharged) == org.uncharged then
      -- Created here (no balance was ever stored, or its generation expired): it expires like a settled marker.
      redis.call('PEXPIRE', BALANCE_GEN, TTL)
    end
  end
  for key, ids in pairs(leases) do
    redis.call('ZREM', key, unpack(ids))
  end
  sc_flush(now)
end

-- One MGET for what the call has not read yet: the request's reservation (if it is to be read here), the balance
-- (the call's first request), and the buckets of both scopes (only a request with a reservation gives tokens back).
-- Returns the reservation's value (false if none, or not read).
local function read(K, reservation, buckets)
  local want = {}
  if reservation then want[1] = K[1] end
  if not org then want[#want + 1] = BALANCE end
  local org_scope = not buckets or sc_known(ORG_LIMITS)
  local key_scope = not buckets or sc_known(K[3])
  if not org_scope then want[#want + 1] = ORG_LIMITS end
  if not key_scope then want[#want + 1] = K[3] end
  if #want == 0 then return false end
  if reservation and #want == 1 then return redis.call('GET', K[1]) end
  local got = redis.call('MGET', unpack(want))
  local at = reservation and 2 or 1
  if not org then
    org = {balance = got[at], charged = 0, total_delta = 0, unexp = {}, uncharged = 0}
    at = at + 1
  end
  if not org_scope then
    sc_get(ORG_LIMITS, got[at])
    at = at + 1
  end
  if not key_scope then sc_get(K[3], got[at]) end
  return reservation and got[1]
end

-- K and A are one request's own keys and arguments.
local function settle(K, A, now)
  local rid, allotted = A[1], A[7] == '1'
  if not ts then ts = tostring(now) end

  local packed
  if allotted then
    -- Marks it settled and returns what was there (nothing, for a request admitted from an allotment).
    packed = redis.call('SET', K[1], 'S', 'PX', TTL, 'GET')
    if packed == 'S' then return 'D' end
  else
    packed = read(K, true, true)
    if packed == 'S' then return 'D' end
  end

  -- Validate the reservation before writing anything else (a script error does not roll back earlier writes).
  local res = false
  if packed then
    res = {struct.unpack('<dddddddddddddddddd', packed)}
    if res[1] ~= org_id or res[2] ~= (batch_numbers[A[2]] or num(A[2])) then
      if allotted then redis.call('SET', K[1], packed, 'PX', TTL) end
      return redis.error_reply('GPTAPI_MISMATCH reservation ' .. rid .. ' belongs to org ' .. res[1] .. ' key '
          .. res[2])
    end
  end
  if allotted and (not org or res) then read(K, false, res) end

  -- This request's own writes first, the event and the marker: if either fails, the request is not settled (its
  -- reply is an error) and the call's shared state is unchanged for it.
  local id
  if allotted then
    id = redis.pcall('XADD', OUTBOX, '*', 'request_id', rid, 'org_id', ORG, 'usage', A[6], 'ts_ms', ts)
    if type(id) == 'table' and id.err then
      if packed then redis.call('SET', K[1], packed, 'PX', TTL) else redis.call('DEL', K[1]) end
      return id
    end
  else
    id = redis.call('XADD', OUTBOX, '*', 'request_id', rid, 'org_id', ORG, 'usage', A[6], 'ts_ms', ts)
    redis.call('SET', K[1], 'S', 'PX', TTL)
  end
  -- The event is queued now: with no hot balance to charge, a load running meanwhile must not be stored.
  if not org.balance then org.uncharged = org.uncharged + 1 end

  -- Token buckets: give back reserved - actual (never above capacity), or take the excess (level may go negative).
  -- Token bucket b (3..5) of scope s: capacity and window at res[7 + (s - 1) * 6 + (b - 3) * 2] and the next.
  if res then
    local c1, c2 = sc_get(ORG_LIMITS), sc_get(K[3])
    local delta = res[4] - ((batch_numbers[A[3]] or num(A[3])) + (batch_numbers[A[4]] or num(A[4])))
    for r = 7, 17, 2 do
      local cap = res[r]
      if cap > 0 then
        local c, b, win = r < 13 and c1 or c2, 3 + ((r - 7) % 6) / 2, res[r + 1]
        sc_set(c, b, math.min(cap, sc_level(c, b, cap, win, now) + delta), cap, win)
      end
    end
  end

  -- Concurrency lease and credit hold. A request admitted from an allotment has neither of its own (the allotment
  -- holds them until allot_end_v1.lua). Otherwise, without a reservation, whether there is a lease or a hold is
  -- unknown.
  if res or not allotted then
    if not res or res[6] == 1 then
      local ids = leases[K[2]]
      if not ids then
        ids = {}
        leases[K[2]] = ids
      end
      ids[#ids + 1] = rid
    end
    if res then
      if redis.call('HDEL', HOLDS, rid) == 1 then
        org.total_delta = org.total_delta - res[3]
      end
    else
      local held = redis.call('HGET', HOLDS, rid)
      if held then
        redis.call('HDEL', HOLDS, rid)
        org.total_delta = org.total_delta - tonumber(held)
      end
    end
    org.unexp[#org.unexp + 1] = rid
  end

  -- The exact charge. A missing balance is not created: PostgreSQL's ledger gets the debit from the usage event, and
  -- a load subtracts the event while it is in the outbox.
  local present, after = 0, 0
  if org.balance then
    present = 1
    org.charged = org.charged + (batch_numbers[A[5]] or num(A[5]))
    after = (batch_numbers[org.balance] or num(org.balance)) - org.charged
  end
  return string.format('S,%d,%d,%d,%s,%s', after, present, res and 1 or 0, id, ts)
end

return run_batch(settle, 3, 7, finish, 6, 2)
