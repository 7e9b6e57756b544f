-- go-leader-board's GET top shape: /api/leaderboard/top/1?limit=10&window=24h
local request_bytes = wrk.format("GET", "/api/leaderboard/top/1?limit=10&window=24h")

function request()
  return request_bytes
end
