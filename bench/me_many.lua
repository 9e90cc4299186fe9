-- wrk script: GET /auth/me with many distinct live access tokens, cycling.
--
-- $TOKENS_FILE holds one `access_token refresh_token` line per session (run.sh's population
-- run logs in 10,000 accounts). Lines are dealt round-robin to the $WRK_THREADS wrk threads
-- (it must equal wrk's -t); each request carries the thread's next token, so every token is
-- used about once per 10,000 requests: the verified-token cache sees them all, and the first
-- use of each costs an EdDSA verification.

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local tokens, n, i = {}, 0, 0

function init(args)
  local k = tonumber(os.getenv("WRK_THREADS") or "1")
  local line_no = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    local access = line:match("^(%S+)")
    if access and line_no % k == (tid or 0) then
      n = n + 1; tokens[n] = "Bearer " .. access
    end
    line_no = line_no + 1
  end
end

function request()
  i = i % n + 1
  return wrk.format("GET", nil, { ["Authorization"] = tokens[i] })
end
