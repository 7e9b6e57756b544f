-- GET one fixed path (a cached list). env: BENCH_TOKEN, BENCH_PATH.
local token = os.getenv("BENCH_TOKEN") or ""
local request_bytes = wrk.format("GET", os.getenv("BENCH_PATH"), {["Authorization"] = "Bearer " .. token})

function request()
  return request_bytes
end
