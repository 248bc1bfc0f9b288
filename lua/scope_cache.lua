-- scope_cache.lua: the buckets of every scope a batch touches, read once and written once per script call, and the
-- one read a request of admit_v6.lua or settle_v7.lua makes (sc_read). Not a script of its own: both include it
-- after token_bucket.lua (it uses tb_unpack, tb_level, tb_put and tb_store).
--
-- Every request of a batch sees the same time (batch.lua), so a bucket's level needs the refill arithmetic only the
-- first time the batch meets it: after that the batch keeps the bucket's level at that time as a plain number, each
-- request takes from it or gives back to it, and sc_flush stores every bucket a request changed (tb_put, then one
-- tb_store per scope) after the batch's last request. What is stored is what storing after each request would have
-- left: a request stores its bucket's level at now, and a later request of the batch reads exactly that level back.

local sc_scopes = {}

-- key's entry, created from its stored value raw (a string, or false for none) the first time the batch meets it:
--   st  the 18 stored values (false: none, every bucket full)
--   put[b], lv[b], pcap[b], pwin[b]  bucket b (0..5) was set by a request: its level now, with that capacity and window
--   rlv[b], rcap[b]  bucket b's level now as refilled from st for capacity rcap[b] (not set by a request yet)
local function sc_get(key, raw)
  local c = sc_scopes[key]
  if not c then
    c = {st = tb_unpack(raw) or false, put = {}, lv = {}, pcap = {}, pwin = {}, rlv = {}, rcap = {}, dirty = false}
    sc_scopes[key] = c
  end
  return c
end

-- Whether the batch has already read key (if not, the caller reads it and passes the value to sc_get).
local function sc_known(key)
  return sc_scopes[key] ~= nil
end

-- Bucket b's (0..5) level now for capacity cap and window win: what the stored values would give if every request
-- before this one had stored its own. A level a request set is stored at now, so refilling it over no time only caps
-- it (tb_level), and with the capacity it was set with it is already at most that; a bucket no request set is
-- refilled from st, once per capacity (a request whose plan changed may bring another).
local function sc_level(c, b, cap, win, now)
  if c.put[b] then
    if c.pcap[b] == cap then return c.lv[b] end
    return tb_level(c.lv[b], now, cap, win, now)
  end
  if c.rcap[b] == cap then return c.rlv[b] end
  local st, level = c.st, cap
  if st and st[b * 3 + 3] > now then level = tb_level(st[b * 3 + 1], st[b * 3 + 2], cap, win, now) end
  c.rlv[b], c.rcap[b] = level, cap
  return level
end

-- A request leaves bucket b at level (capacity cap, window win): sc_flush stores it.
local function sc_set(c, b, level, cap, win)
  c.put[b], c.lv[b], c.pcap[b], c.pwin[b] = true, level, cap, win
  c.dirty = true
end

-- Stores every scope a request changed (after the batch's last request).
local function sc_flush(now)
  for key, c in pairs(sc_scopes) do
    if c.dirty then
      local st = c.st or {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
      for b = 0, 5 do
        if c.put[b] then tb_put(st, b, c.lv[b], c.pcap[b], c.pwin[b], now) end
      end
      tb_store(key, st, now)
    end
  end
end

-- The scopes' stored values for a request whose scopes the batch already holds (sc_get ignores them then).
local SC_NO_RAW = {false, false}

-- A request's one read (both scripts lay out KEYS 1 balance, 4 reservation, 7 and 8 the scopes' buckets): its
-- reservation and, the first time the batch meets them, the organization's balance (unless org_known) and the
-- scopes' buckets. Returns the reservation's value, the balance (false if org_known or missing) and the two scopes'
-- stored values ({false, false} for those the batch already holds; pass them to sc_get). A request that needs only
-- its reservation reads it with GET: a one-element MGET costs a reply array and a Lua table.
local function sc_read(KEYS, org_known)
  local org_scope, key_scope = sc_known(KEYS[7]), sc_known(KEYS[8])
  if org_known and org_scope and key_scope then
    return redis.call('GET', KEYS[4]), false, SC_NO_RAW
  end
  local want = {KEYS[4]}
  if not org_known then want[2] = KEYS[1] end
  if not org_scope then want[#want + 1] = KEYS[7] end
  if not key_scope then want[#want + 1] = KEYS[8] end
  local got = redis.call('MGET', unpack(want))
  local at = org_known and 2 or 3
  local raw = {false, false}
  if not org_scope then raw[1], at = got[at], at + 1 end
  if not key_scope then raw[2] = got[at] end
  return got[1], not org_known and got[2], raw
end
