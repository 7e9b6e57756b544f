-- GET a member view of a random populated member.
-- env: BENCH_TOKEN, BENCH_PATH (with %d where the member number goes, e.g.
-- /v1/leaderboards/eth/members/reader-%d?period=day), BENCH_MEMBERS (members are 0..N-1).
local token = os.getenv("BENCH_TOKEN") or ""
local path = os.getenv("BENCH_PATH")
local members = tonumber(os.getenv("BENCH_MEMBERS") or "1000")
local headers = {["Authorization"] = "Bearer " .. token}

function request()
  return wrk.format("GET", string.format(path, math.random(0, members - 1)), headers)
end
