-- wrk: POST /v1/orgs/{random org}/revenues with an admin token (bench/api_bench.sh).
local orgs = tonumber(os.getenv("BENCH_ORGS") or "1000")
local token = os.getenv("BENCH_TOKEN") or ""
local headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))

request = function()
  local body = string.format(
    '{"category":"room","amount_cents":%d,"occurred_at":"2026-09-%02dT12:00:00Z"}',
    math.random(1, 100000), math.random(1, 28))
  return wrk.format("POST", "/v1/orgs/" .. math.random(1, orgs) .. "/revenues", headers, body)
end

