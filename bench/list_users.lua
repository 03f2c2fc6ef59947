-- GET /users?limit=50 at a random offset among the seeded users
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local users = tonumber(os.getenv("BENCH_USERS") or "10000")

request = function()
  return wrk.format("GET", "/users?limit=50&offset=" .. math.random(0, users - 50))
end
