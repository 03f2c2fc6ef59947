-- GET /users/<random id among the seeded users>
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "10000")

request = function()
  return wrk.format("GET", "/users/" .. math.random(1, users))
end
