-- scope_cache.lua: the buckets of every scope a batch touches, read once and written once per script call, and the
-- one read a request of admit_v6.lua or settle_v6.lua makes (sc_read). Not a script of its own: both include it
-- after token_bucket.lua (it uses tb_unpack and tb_store). A scope's 18 values live in one table for the whole batch, so the second request of a scope neither
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

-- A request's one read (both scripts lay out KEYS 1 balance, 4 reservation, 7 and 8 the scopes' buckets): its
-- reservation and, the first time the batch meets them, the organization's balance (unless org_known) and the
-- scopes' buckets. Returns the reservation's value, the balance (false if org_known or missing) and the two scopes'
-- stored values ({false, false} for those the batch already holds; pass them to sc_state).
local function sc_read(KEYS, org_known)
  local want = {KEYS[4]}
  if not org_known then want[2] = KEYS[1] end
  local org_scope, key_scope = sc_known(KEYS[7]), sc_known(KEYS[8])
  if not org_scope then want[#want + 1] = KEYS[7] end
  if not key_scope then want[#want + 1] = KEYS[8] end
  local got = redis.call('MGET', unpack(want))
  local at = org_known and 2 or 3
  local raw = {false, false}
  if not org_scope then raw[1], at = got[at], at + 1 end
  if not key_scope then raw[2] = got[at] end
  return got[1], not org_known and got[2], raw
end
