-- debit_hold_v1.lua: places the credit hold of a debit that is not a settlement (a transfer out, an admin
-- deduction, a refund), atomically with admissions: the debit is held like a request's maximum cost, so
-- "available = balance - holds" (the balance being net of queued usage) is checked in one place for both.
-- The caller then writes the ledger and ends the hold with debit_end_v1.lua.
--
-- KEYS
--   1  gptapi:{s<shard>}:org:<orgId>:balance     string: hot balance, integer micro-USD
--   2  gptapi:{s<shard>}:org:<orgId>:holds       hash: holdId -> held micro-USD, field "_total" = sum of holds
--   3  gptapi:{s<shard>}:org:<orgId>:holdexp     zset: holdId -> hold expiry ms
--   4  gptapi:{s<shard>}:org:<orgId>:balgen      string: generation of the hot balance (see admit_v6.lua)
-- ARGV
--   1  hold id: "debit:<idempotency key>"
--   2  amount, micro-USD (> 0)
--   3  hold TTL ms: the debit must have ended by then; an expired debit hold makes admit_v6.lua drop the balance
--   4  balance TTL ms
--   5  balance loaded from PostgreSQL by the caller ("" = none)   6  generation returned before that load
--   7  "overdraft": hold even beyond the available credit (money already gone, e.g. a Stripe refund); absent:
--      refuse with insufficient_quota
-- Returns
--   {"no_balance", generation}   load the balance and call again with it (as admit_v6.lua)
--   {"in_progress"}              a hold with this id exists: the same debit is running
--   {"insufficient_quota", balance, held}   balance - held < amount; nothing changed
--   {"held", balance, held, generation}   the hold is placed (held = the other holds); pass the generation to
--                                debit_end_v1.lua

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local id = ARGV[1]
local amount = tonumber(ARGV[2])
local bal_ttl = tonumber(ARGV[4])

-- admit_v6.lua's sweep (here on every call: debits are rare), so expired holds never block a debit of an org that
-- sends no requests.
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 16)
local drop = false
for _, old in ipairs(expired) do
  local held = redis.call('HGET', KEYS[2], old)
  if held then
    redis.call('HDEL', KEYS[2], old)
    redis.call('HINCRBY', KEYS[2], '_total', -tonumber(held))
  end
  redis.call('ZREM', KEYS[3], old)
  if string.sub(old, 1, 6) == 'debit:' then drop = true end
end
if drop then
  redis.call('DEL', KEYS[1])
  redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], bal_ttl)
end

local balance = redis.call('GET', KEYS[1])
if not balance then
  local generation = redis.call('GET', KEYS[4]) or '0'
  if ARGV[5] == '' or ARGV[6] ~= generation then
    return {'no_balance', generation}
  end
  balance = ARGV[5]
  redis.call('SET', KEYS[1], balance, 'PX', bal_ttl)
  redis.call('INCR', KEYS[4])
  redis.call('PEXPIRE', KEYS[4], bal_ttl)
end
balance = tonumber(balance)

if redis.call('HEXISTS', KEYS[2], id) == 1 then
  return {'in_progress'}
end
local held = tonumber(redis.call('HGET', KEYS[2], '_total') or '0')
if ARGV[7] ~= 'overdraft' and balance - held < amount then
  return {'insufficient_quota', balance, held}
end
redis.call('HSET', KEYS[2], id, amount)
redis.call('HINCRBY', KEYS[2], '_total', amount)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
if redis.call('PTTL', KEYS[2]) < bal_ttl / 2 then
  redis.call('PEXPIRE', KEYS[1], bal_ttl)
  redis.call('PEXPIRE', KEYS[2], bal_ttl)
  redis.call('PEXPIRE', KEYS[3], bal_ttl)
end
return {'held', balance, held, redis.call('GET', KEYS[4]) or '0'}
