-- go-leader-board's POST score shape against our compat route: random user, random score, now.
-- env: BENCH_TOKEN (service token), BENCH_MEMBERS.
local token = os.getenv("BENCH_TOKEN") or ""
local members = tonumber(os.getenv("BENCH_MEMBERS") or "10000")
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}

function request()
  local body = string.format('{"game_id":1,"user_id":%d,"score":%d,"timestamp":"%s"}',
    math.random(1, members), math.random(1, 100000), os.date("!%Y-%m-%dT%H:%M:%SZ"))
  return wrk.format("POST", "/api/leaderboard/score", headers, body)
end
