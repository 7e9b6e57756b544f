-- The HTTP ceiling's POST: a one-trade JSON body to the hello-world app's /echo.
local body = '{"trade_id":"x-1","trader_id":"bench-1","symbol":"SOL","side":"buy","quantity":"1","price":"150"}'
local request_bytes = wrk.format("POST", "/echo", {["Content-Type"] = "application/json"}, body)

function request()
  return request_bytes
end
