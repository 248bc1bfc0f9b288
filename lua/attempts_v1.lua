-- attempts_v1.lua: counts one sign-in attempt against several fixed windows at once (e.g. per account and per IP)
-- and says whether it is allowed. A refused attempt is still counted, so hammering keeps the window closed.
--
-- KEYS
--   1… one counter per subject, e.g. gptapi:{attempts}:signin:acct:<sha256 of e-mail>,
--      gptapi:{attempts}:signin:ip:<address>; all carry the tag {attempts}, so a Redis Cluster runs them in one slot
-- ARGV
--   1  window length, ms (each counter expires one window after its first attempt)
--   2… the limit of each key, in KEYS order
-- Returns
--   {allowed (1|0), retry_after_ms (0 when allowed: the longest wait among the exceeded counters)}

local window = tonumber(ARGV[1])
local allowed, retry = 1, 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then
    redis.call('PEXPIRE', key, window)
  end
  if n > tonumber(ARGV[i + 1]) then
    allowed = 0
    local ttl = redis.call('PTTL', key)
    if ttl > retry then retry = ttl end
  end
end
return {allowed, retry}
