-- batch.lua: group commit. Not a script of its own: a script that runs one operation per request (admission,
-- settlement) includes it ("-- #include batch.lua") and returns run_batch(one, key_count, arg_count), so a whole
-- batch of requests pays the fixed price of one script call (EVALSHA parsing, script setup, reply, one network
-- round trip) instead of one each. ai.gpt.api.limits.ScriptBatches sends the batches.
--
-- KEYS and ARGV are the requests' own keys and arguments one after the other: request i (from 0) has
-- KEYS[i * key_count + 1 .. (i + 1) * key_count] and ARGV[i * arg_count + 1 .. (i + 1) * arg_count]. Every key of a
-- batch carries the same hash tag, so a batch runs on one Redis Cluster master. A script whose requests share keys
-- and arguments (those of one organization: settle_v8) takes them once, as a header before the requests' own:
-- header_keys keys and header_args arguments (the script reads them as KEYS[1..] and ARGV[1..]), and request i's
-- own then follow from KEYS[header_keys + i * key_count + 1] and ARGV[header_args + i * arg_count + 1].
-- Returns one reply per request, in order: what one(keys, args, now) returned (a table, or a string), or
-- {"error", message} if it raised an error or returned one (redis.error_reply).
--
-- Requests run one after the other, each exactly as a script call of its own would: each sees what the ones
-- before it wrote, and a refused or failed request does not affect the others (an error is caught with pcall, so
-- it ends only its own request, leaving what that request wrote before the error, as a failed script call does).
-- All requests of a batch see one TIME, as requests arriving within the same millisecond would.
--
-- finish(now), if given, runs once after the last request (outside pcall: an error there fails the whole call). A
-- script whose requests keep state they share in memory (admit_v6, settle_v7: what the batch read of an
-- organization's keys and what it still has to write) writes it there, so a key several requests of the batch
-- change is written once.

-- tonumber(s), remembered for the call: the requests of a batch repeat most numbers (ids, TTLs, limits), and a
-- string-to-number conversion costs far more than a table lookup. Callers write `batch_numbers[s] or num(s)`, so a
-- number the batch has seen costs one table read and no function call; num runs only on a miss.
local batch_numbers = {}
local function num(s)
  local v = tonumber(s)
  batch_numbers[s] = v
  return v
end

local function run_batch(one, key_count, arg_count, finish, header_keys, header_args)
  local hk, ha = header_keys or 0, header_args or 0
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local out = {}
  for i = 0, (#KEYS - hk) / key_count - 1 do
    -- A table constructor from unpack is allocated at its final size (filling {} one by one grows it several times).
    local keys = {unpack(KEYS, hk + i * key_count + 1, hk + (i + 1) * key_count)}
    local args = {unpack(ARGV, ha + i * arg_count + 1, ha + (i + 1) * arg_count)}
    local ok, reply = pcall(one, keys, args, now)
    if not ok then
      -- redis.call raises a table {err = message} (Redis 7) or a string; a Lua runtime error is a string.
      reply = {'error', type(reply) == 'table' and reply.err or tostring(reply)}
    elseif type(reply) == 'table' and reply.err then
      reply = {'error', reply.err}
    end
    out[i + 1] = reply
  end
  if finish then finish(now) end
  return out
end
