-- outbox_done_v1.lua: removes usage events the usage writer has committed to PostgreSQL from one organization's
-- outbox, and the outbox key itself once it is empty, in one step (checked and deleted apart, a settlement appending
-- in between would be lost with the DEL; never deleted, the empty stream of every organization that ever settled
-- would stay forever: streams have no TTL, and the writer's outbox sweep visits every outbox key).
-- An entry is removed only if it still carries the request id it was committed as: after a DEL, a new outbox can
-- hand out an id again (a clock set back, a failover), and a late duplicate must not remove another event.
--
-- KEYS
--   1  gptapi:{o<orgId>}:outbox
-- ARGV  pairs: outbox entry id, request id (ids already gone are skipped)
-- Returns the number of entries removed.

local ids = {}
for i = 1, #ARGV, 2 do
  local found = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i], 'COUNT', 1)
  if found[1] then
    local fields = found[1][2]
    for f = 1, #fields, 2 do
      if fields[f] == 'request_id' then
        if fields[f + 1] == ARGV[i + 1] then ids[#ids + 1] = ARGV[i] end
        break
      end
    end
  end
end
local removed = 0
for i = 1, #ids, 500 do
  removed = removed + redis.call('XDEL', KEYS[1], unpack(ids, i, math.min(i + 499, #ids)))
end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
end
return removed
