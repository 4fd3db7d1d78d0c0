-- wrk: one per-organization API path of folio-server over random organizations
-- (bench/scale_bench.sh). Environment:
--   BENCH_PATH    get_by_id | list | list_month | pnl | categories | balances | create | patch
--   BENCH_TOKEN   an admin token (acts on every organization)
--   BENCH_ORG_LO, BENCH_ORG_HI   the organization ids to draw from, uniformly
--   BENCH_FROM, BENCH_TO         the inclusive day range of list/list_month/pnl/categories/
--                                balances (YYYY-MM-DD)
--   BENCH_MONTH   YYYY-MM of the occurred_at of created revenues (the current month)
--   BENCH_SAMPLE  get_by_id and patch: a file of "org_id id" lines, existing revenues
local path = os.getenv("BENCH_PATH") or "list"
local token = os.getenv("BENCH_TOKEN") or ""
local org_lo = tonumber(os.getenv("BENCH_ORG_LO") or "1")
local org_hi = tonumber(os.getenv("BENCH_ORG_HI") or "1000")
local from = os.getenv("BENCH_FROM") or ""
local to = os.getenv("BENCH_TO") or ""
local month = os.getenv("BENCH_MONTH") or ""
local get_headers = { ["Authorization"] = "Bearer " .. token }
local body_headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local categories = { "room", "food_beverage", "spa", "events", "other" }

-- The (org, id) sample, loaded once per wrk thread (each thread has its own Lua state).
local sample_org, sample_id, sample_n = {}, {}, 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  if path == "get_by_id" or path == "patch" then
    local file = assert(io.open(os.getenv("BENCH_SAMPLE") or "", "r"), "BENCH_SAMPLE unreadable")
    for line in file:lines() do
      local org, id = line:match("^(%d+)%s+(%d+)")
      if org then
        sample_n = sample_n + 1
        sample_org[sample_n] = org
        sample_id[sample_n] = id
      end
    end
    file:close()
    assert(sample_n > 0, "BENCH_SAMPLE has no (org_id, id) lines")
  end
end

local function org()
  return math.random(org_lo, org_hi)
end

local builders = {
  get_by_id = function()
    local i = math.random(1, sample_n)
    return wrk.format("GET", "/v1/orgs/" .. sample_org[i] .. "/revenues/" .. sample_id[i], get_headers)
  end,
  patch = function()
    local i = math.random(1, sample_n)
    return wrk.format("PATCH", "/v1/orgs/" .. sample_org[i] .. "/revenues/" .. sample_id[i],
      body_headers, string.format('{"amount_cents":%d}', math.random(1, 500000)))
  end,
  list = function()
    return wrk.format("GET", "/v1/orgs/" .. org() .. "/revenues?from=" .. from .. "&to=" .. to, get_headers)
  end,
  pnl = function()
    return wrk.format("GET", "/v1/orgs/" .. org() .. "/reports/pnl?from=" .. from .. "&to=" .. to ..
      "&granularity=month", get_headers)
  end,
  categories = function()
    return wrk.format("GET", "/v1/orgs/" .. org() .. "/reports/categories?from=" .. from .. "&to=" ..
      to .. "&kind=revenue", get_headers)
  end,
  balances = function()
    return wrk.format("GET", "/v1/orgs/" .. org() .. "/balances?from=" .. from .. "&to=" .. to, get_headers)
  end,
  create = function()
    local body = string.format(
      '{"category":"%s","amount_cents":%d,"occurred_at":"%s-%02dT%02d:%02d:00Z"}',
      categories[math.random(1, #categories)], math.random(1, 500000), month,
      math.random(1, 28), math.random(6, 22), math.random(0, 59))
    return wrk.format("POST", "/v1/orgs/" .. org() .. "/revenues", body_headers, body)
  end,
}
builders.list_month = builders.list

request = assert(builders[path], "unknown BENCH_PATH " .. path)
