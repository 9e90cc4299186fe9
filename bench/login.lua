-- wrk script: POST /auth/login with a correct password, cycling through the accounts
-- $LOGIN_PREFIX0 .. $LOGIN_PREFIX{$LOGIN_COUNT-1} (password $LOGIN_PASSWORD), each wrk thread
-- starting at a different offset. Several accounts, because Warden caps the logins in flight
-- for ONE account at WARDEN_BLOCK_TRIES (the rest get 429) -- run.sh checks that separately.
-- Prints `status_counts 200=N 429=M ...` at the end, so errors can be told apart.
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local prefix = os.getenv("LOGIN_PREFIX") or "login-"
local n = tonumber(os.getenv("LOGIN_COUNT") or "1")
local password = os.getenv("LOGIN_PASSWORD") or ""
local hdrs = { ["Content-Type"] = "application/json" }
local i = nil

function request()
  if i == nil then
    i = (tid or 0) * math.floor(n / tonumber(os.getenv("WRK_THREADS") or "1"))
  end
  i = i + 1
  local body = string.format('{"login":"%s%d","password":"%s"}', prefix, i % n, password)
  return wrk.format("POST", nil, hdrs, body)
end

counts = {}
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

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
