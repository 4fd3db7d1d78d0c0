-- wrk: GET /v1/orgs/{random org}/reports/pnl by month over a quarter (bench/api_bench.sh).
local orgs = tonumber(os.getenv("BENCH_ORGS") or "1000")
local token = os.getenv("BENCH_TOKEN") or ""
local headers = { ["Authorization"] = "Bearer " .. token }
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  return wrk.format("GET", "/v1/orgs/" .. math.random(1, orgs) ..
    "/reports/pnl?from=2026-06-01&to=2026-08-31&granularity=month", headers)
end

