-- POST /users with a unique email per request
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
local counter = 0
local headers = {["Content-Type"] = "application/json"}

request = function()
  counter = counter + 1
  local email = string.format("bench-%d-%d-%d@example.com", thread_number or 0, os.time(), counter)
  local body = string.format('{"name": "bench user", "email": "%s", "password": "bench-password"}', email)
  return wrk.format("POST", "/users", headers, body)
end
