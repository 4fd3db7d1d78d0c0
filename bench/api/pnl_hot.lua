-- wrk: GET /v1/orgs/{one of BENCH_HOT_ORGS orgs}/reports/pnl by month over a quarter: a working
-- set small enough to stay cached (bench/cache_bench.sh).
local orgs = tonumber(os.getenv("BENCH_HOT_ORGS") or "100")
local token = os.getenv("BENCH_TOKEN") or ""
local headers = { ["Authorization"] = "Bearer " .. token }
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  return wrk.format("GET", "/v1/orgs/" .. math.random(1, orgs) ..
    "/reports/pnl?from=2026-06-01&to=2026-08-31&granularity=month", headers)
end
