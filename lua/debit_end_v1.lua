-- debit_end_v1.lua: applies a committed ledger change (a debit held by debit_hold_v1.lua, or a credit) to the hot
-- balance, and/or releases a debit hold.
--
-- The hot balance is adjusted (INCRBY delta) only if it is the same incarnation as when the change began: the
-- generation (balgen, bumped by every load that stores a balance and every drop) is unchanged. A debit's hold was
-- placed on an existing balance loaded before the ledger commit, so that balance lacks the change. Otherwise (a
-- reload happened meanwhile and may or may not have read the commit, or the hold expired and was swept) the
-- balance is dropped and the generation bumped, so a load in flight is not stored either: the next admission
-- reloads the truth from the ledger (net of queued usage).
--
-- KEYS  1 balance  2 holds  3 holdexp  4 balgen  (of one organization, as in debit_hold_v1.lua)
-- ARGV  1 hold id to remove ("" = none)
--       2 delta micro-USD to apply (negative for a debit; 0 = release the hold only: the ledger write failed)
--       3 generation when the change began ("held" answer of debit_hold_v1.lua, or GET balgen before a credit;
--         "" never matches: a retry whose outcome is unknown drops the balance)
--       4 balance TTL ms
-- Returns 1 when the balance was adjusted, 0 when it was dropped or left alone.

local hold_gone = false
if ARGV[1] ~= '' then
  local held = redis.call('HGET', KEYS[2], ARGV[1])
  if held then
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('HINCRBY', KEYS[2], '_total', -tonumber(held))
  else
    -- Expired and swept, or this end already ran (a retry after a lost reply): adjusting again could count the
    -- debit twice, so the balance is dropped instead.
    hold_gone = true
  end
  redis.call('ZREM', KEYS[3], ARGV[1])
end
if ARGV[2] == '0' then
  return 0
end
if not hold_gone and redis.call('EXISTS', KEYS[1]) == 1 and (redis.call('GET', KEYS[4]) or '0') == ARGV[3] then
  redis.call('INCRBY', KEYS[1], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[4]))
return 0
