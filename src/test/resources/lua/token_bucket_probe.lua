-- Runs token_bucket.lua on cases for TokenBucketAgreementTest. ARGV: per case 6 values v, t ("" = not stored),
-- cap, win, now, amount. Returns per case {level (%.17g), remaining, ms until full, ms until amount available}.

-- #include token_bucket.lua

local out = {}
for i = 1, #ARGV, 6 do
  local v, t = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local cap, win, now, amount = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]),
      tonumber(ARGV[i + 5])
  local level = tb_level(v, t, cap, win, now)
  out[#out + 1] = {string.format('%.17g', level), tb_remaining(level), tb_until_full(level, cap, win),
      tb_wait(level, amount, cap, win)}
end
return out
