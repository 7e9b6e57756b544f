-- go-leader-board's GET rank shape: /api/leaderboard/rank/1/<random user>?window=24h. env: BENCH_MEMBERS.
local members = tonumber(os.getenv("BENCH_MEMBERS") or "10000")

function request()
  return wrk.format("GET", string.format("/api/leaderboard/rank/1/%d?window=24h", math.random(1, members)))
end
