-- POST /v1/trades with unique trade ids per request.
-- env: BENCH_TOKEN (service access token), BENCH_RUN (id prefix of this run), BENCH_BATCH (0: one trade
-- object per request; N: {"trades": [N trades]}), BENCH_TRADERS (distinct trader ids).
local token = os.getenv("BENCH_TOKEN") or ""
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local batch = tonumber(os.getenv("BENCH_BATCH") or "0")
local traders = tonumber(os.getenv("BENCH_TRADERS") or "1000")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local threads = 0
local n = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local function trade()
  n = n + 1
  return string.format(
    '{"trade_id":"b%s-%d-%d","trader_id":"bench-%d","symbol":"SOL","side":"buy","quantity":"1","price":"150"}',
    run, tid or 0, n, n % traders)
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
