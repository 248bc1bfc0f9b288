-- outbox_done_v2.lua: removes usage events the usage writer has committed to PostgreSQL from one organization's
-- outbox, and the outbox key itself once it is empty, in one step (checked and deleted apart, a settlement appending
-- in between would be lost with the DEL; never deleted, the empty stream of every organization that ever settled
-- would stay forever: streams have no TTL, and the writer's outbox sweep visits every outbox key).
-- An entry is removed only if it still carries the request id it was committed as: after a DEL, a new outbox can
-- hand out an id again (a clock set back, a failover), and a late duplicate must not remove another event.
-- v2 (replaces v1): the same arguments, result and removals, in fewer stream seeks. Finding one entry by id scans
-- its stream node (up to 100 entries, most of them already deleted) from the start, and v1 did that twice per event
-- (XRANGE, then XDEL). The writer commits an organization's events in the order they were settled, so they are
-- normally the oldest entries of the outbox: v2 reads from the head up to the newest of them in one XRANGE, removes
-- the run of matching entries at the head with one XTRIM MINID, and only the others one by one (XDEL).
--
-- KEYS
--   1  gptapi:{o<orgId>}:outbox
-- ARGV  pairs: outbox entry id, request id, in any order (ids already gone, or not ids, are skipped)
-- Returns the number of entries removed.

-- Entries read past the ones to remove before giving up on the head (an old entry waiting for the outbox
-- recovery); the ids not reached are then looked up one by one, as v1 did.
local SLACK = 64

local function parse_id(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local function request_id(fields)
  for f = 1, #fields, 2 do
    if fields[f] == 'request_id' then return fields[f + 1] end
  end
  return nil
end

local want, count = {}, 0
local last_ms, last_seq, last_id = -1, -1, nil
for i = 1, #ARGV, 2 do
  local ms, seq = parse_id(ARGV[i])
  if ms and not want[ARGV[i]] then
    want[ARGV[i]] = ARGV[i + 1]
    count = count + 1
    if ms > last_ms or (ms == last_ms and seq > last_seq) then
      last_ms, last_seq, last_id = ms, seq, ARGV[i]
    end
  end
end
if count == 0 then
  return 0
end

local head = redis.call('XRANGE', KEYS[1], '-', last_id, 'COUNT', count + SLACK)
local seen, dels = {}, {}
local run, keep_from = 0, nil -- matching entries at the head; the first entry after them
for _, entry in ipairs(head) do
  local id = entry[1]
  local rid = want[id]
  if rid then seen[id] = true end
  if rid and request_id(entry[2]) == rid then
    if keep_from then dels[#dels + 1] = id else run = run + 1 end
  elseif not keep_from then
    keep_from = id
  end
end
-- Not reached (more than SLACK other entries before them): each looked up by id.
if #head == count + SLACK then
  for id, rid in pairs(want) do
    if not seen[id] then
      local found = redis.call('XRANGE', KEYS[1], id, id, 'COUNT', 1)
      if found[1] and request_id(found[1][2]) == rid then dels[#dels + 1] = id end
    end
  end
end

local removed = 0
if run > 0 then
  -- Every entry below the first one kept; if all read entries matched, everything up to the newest to remove.
  removed = redis.call('XTRIM', KEYS[1], 'MINID', keep_from or (last_ms .. '-' .. (last_seq + 1)))
end
for i = 1, #dels, 500 do
  removed = removed + redis.call('XDEL', KEYS[1], unpack(dels, i, math.min(i + 499, #dels)))
end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
end
return removed
