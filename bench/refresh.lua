-- wrk script: chained refresh-token rotation.
--
-- $TOKENS_FILE holds one `access_token refresh_token` line per pre-made session: one per wrk
-- connection plus one spare per thread (run.sh logs them in before the run), because wrk 4.1
-- calls request() once on thread 1's state to check the script, and that token is never sent.
-- Lines are dealt round-robin to the wrk threads. Each thread keeps a queue of live refresh tokens: request() takes one, response()
-- pushes the rotated token from the 200 body. wrk sends a connection's next request only after
-- its previous response was handled and has one request in flight per connection, so with as
-- many sessions as connections every request carries a token that has not been used yet.
-- A failed refresh loses its chain; later requests for it carry a dead token and count as
-- non-2xx (run.sh reports successful refreshes/s only). $WRK_THREADS must equal wrk's -t.

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local queue, head, tail = {}, 1, 0
local hdrs = { ["Content-Type"] = "application/json", ["X-Requested-With"] = "wrk" }

function init(args)
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  local i = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    local _, refresh = line:match("^(%S+)%s+(%S+)$")
    if refresh and i % n == tid then
      tail = tail + 1; queue[tail] = refresh
    end
    i = i + 1
  end
end

function request()
  local tok = "dead-chain"
  if head <= tail then
    tok = queue[head]; queue[head] = nil; head = head + 1
  end
  return wrk.format("POST", "/auth/refresh", hdrs, '{"refresh_token":"' .. tok .. '"}')
end

counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 200 then
    local tok = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if tok then tail = tail + 1; queue[tail] = tok end
  end
end

-- `status_counts 200=N 401=M ...`, so errors can be told apart
function done(summary, latency, requests)
  local total, keys, parts = {}, {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
  end
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do table.insert(parts, k .. "=" .. total[k]) end
  io.write("status_counts " .. table.concat(parts, " ") .. "\n")
end
