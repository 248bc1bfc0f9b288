-- scope_cache.lua: the buckets of every scope a batch touches, read once and written once per script call. Not a
-- script of its own: admit_v6.lua and settle_v6.lua include it after token_bucket.lua (it uses tb_unpack and
-- tb_store). A scope's 18 values live in one table for the whole batch, so the second request of a scope neither
-- reads nor decodes its key again, and the key is encoded and stored once, by sc_flush, after the last request.

local sc_scopes = {}

-- Whether the batch has already read key (if not, the caller reads it and passes the value to sc_state).
local function sc_known(key)
  return sc_scopes[key] ~= nil
end

-- The batch's table of key's 18 values, or nil for no state (full buckets); raw is the stored string (or false),
-- used only the first time. Change the table with tb_put and call sc_changed.
local function sc_state(key, raw)
  local c = sc_scopes[key]
  if not c then
    c = {st = tb_unpack(raw) or false, dirty = false}
    sc_scopes[key] = c
  end
  return c.st or nil
end

-- key's values are now st (the table sc_state returned, or a new one): sc_flush stores them.
local function sc_changed(key, st)
  local c = sc_scopes[key]
  c.st, c.dirty = st, true
end

-- Stores every changed scope (after the batch's last request).
local function sc_flush(now)
  for key, c in pairs(sc_scopes) do
    if c.dirty then tb_store(key, c.st, now) end
  end
end
