-- POST /v1/trades with unique trade ids per request.
-- env: BENCH_TOKEN (service access token), BENCH_RUN (id prefix of this run), BENCH_BATCH (0: one trade
-- object per request; N: {"trades": [N trades]}), BENCH_TRADERS (distinct trader ids), BENCH_SKEW (Zipf
-- exponent of the traders' activity, like the mock producer's 1.1; 0 = round robin, every trade of a batch by
-- another trader: the write path's worst case). Every trade is 1 SOL at 150 USD (15,000 cents), so the
-- harness checks the applied total exactly.
local token = os.getenv("BENCH_TOKEN") or ""
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local traders = tonumber(os.getenv("BENCH_TRADERS") or "1000")
local skew = tonumber(os.getenv("BENCH_SKEW") or "0")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local threads = 0
local n = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local function trader()
  if skew <= 0 then return n % traders end
  -- inverse CDF of a continuous Zipf law on [1, traders + 1): a few traders trade often, most rarely
  local u = math.random()
  local a = 1 - skew
  local x = (1 - u * (1 - (traders + 1) ^ a)) ^ (1 / a)
  return math.min(math.floor(x) - 1, traders - 1)
end

local function trade()
  n = n + 1
  return string.format(
    '{"trade_id":"b%s-%d-%d","trader_id":"bench-%d","symbol":"SOL","side":"buy","quantity":"1","price":"150"}',
    run, tid or 0, n, trader())
end

function request()
  local body
  if batch > 0 then
    local parts = {}
    for i = 1, batch do parts[i] = trade() end
    body = '{"trades":[' .. table.concat(parts, ",") .. ']}'
  else
    body = trade()
  end
  return wrk.format("POST", "/v1/trades", headers, body)
end
