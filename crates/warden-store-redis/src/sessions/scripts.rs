//! The Lua scripts of the session store, one per operation, each atomic.
//!
//! They know only the index fields of a session hash (`acc`, `exp`, `rev`)
//! and the token hashes (`sid`, `used`); the session itself is the opaque
//! JSON `body` plus the fields Rust hands them as name/value pairs, so a new
//! field of [`warden_core::model::Session`] needs no script change.
//! Times are decimal nanosecond strings (compared by `lt`, exact beyond the
//! 2^53 of Lua numbers) and millisecond numbers for TTLs and the `ends` index.

/// `lt(a, b)` on non-negative decimal strings, and `keep_until(key, ms)`:
/// extend a key's expiry to `ms` (never shorten it).
const PRELUDE: &str = r"
local function lt(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function keep_until(k, at)
  if at < 0 then return end
  local cur = redis.call('PEXPIRETIME', k)
  if cur < 0 or cur < at then redis.call('PEXPIREAT', k, at) end
end
";

/// KEYS: session, token, token set, account set, ends.
/// ARGV: sid, token hex, expire-at ms, end ms, prefix, now ns, now ms, max
/// live sessions of the account (0: no limit), then field/value pairs.
/// With a limit, the least recently used other live sessions (`seen`, then
/// `crt`, then id) are revoked until at most `max` are live; returns their
/// ids, least recently used first.
const CREATE: &str = r"
local at, p, now, max = tonumber(ARGV[3]), ARGV[5], ARGV[6], tonumber(ARGV[8])
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('HSET', KEYS[2], 'sid', ARGV[1], 'used', '0')
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
for i = 1, 4 do keep_until(KEYS[i], at) end
local out = {}
if max < 1 then return out end
local live = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if sid ~= ARGV[1] then
    local s = redis.call('HMGET', p .. 's:' .. sid, 'exp', 'rev', 'seen', 'crt')
    if s[1] and not s[2] and lt(now, s[1]) then
      live[#live + 1] = {sid = sid, seen = s[3] or '', crt = s[4] or ''}
    end
  end
end
if #live + 1 <= max then return out end
table.sort(live, function(a, b)
  if a.seen ~= b.seen then return lt(a.seen, b.seen) end
  if a.crt ~= b.crt then return lt(a.crt, b.crt) end
  return a.sid < b.sid
end)
for i = 1, #live + 1 - max do
  redis.call('HSET', p .. 's:' .. live[i].sid, 'rev', now)
  redis.call('ZADD', KEYS[5], 'LT', ARGV[7], live[i].sid)
  out[#out + 1] = live[i].sid
end
return out
";

/// KEYS: old token, new token, ends. ARGV: prefix, now ns, now ms, new token
/// hex, n, then n field/value pairs to set, then fields to delete (on a
/// rotation). Returns {0|1|2, sid, HGETALL of the session}: 0 invalid,
/// 1 rotated, 2 reuse (the session is now revoked).
const ROTATE: &str = r"
local p, now = ARGV[1], ARGV[2]
local t = redis.call('HMGET', KEYS[1], 'sid', 'used')
if not t[1] then return {0, '', {}} end
local sid = t[1]
local sk = p .. 's:' .. sid
local s = redis.call('HMGET', sk, 'exp', 'rev')
if not s[1] or s[2] or not lt(now, s[1]) then return {0, '', {}} end
if t[2] == '1' then
  redis.call('HSET', sk, 'rev', now)
  redis.call('ZADD', KEYS[3], 'LT', ARGV[3], sid)
  return {2, sid, redis.call('HGETALL', sk)}
end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[2], 'sid', sid, 'used', '0')
redis.call('SADD', p .. 'st:' .. sid, ARGV[4])
keep_until(KEYS[2], redis.call('PEXPIRETIME', sk))
local n = tonumber(ARGV[5])
if n > 0 then redis.call('HSET', sk, unpack(ARGV, 6, 5 + 2 * n)) end
if #ARGV > 5 + 2 * n then redis.call('HDEL', sk, unpack(ARGV, 6 + 2 * n)) end
return {1, sid, redis.call('HGETALL', sk)}
";

/// KEYS: session, ends. ARGV: sid, now ns, now ms. Returns the account id of
/// the session it revoked, or '' when it was not live.
const REVOKE_ONE: &str = r"
local s = redis.call('HMGET', KEYS[1], 'exp', 'rev', 'acc')
if not s[1] or s[2] or not lt(ARGV[2], s[1]) then return '' end
redis.call('HSET', KEYS[1], 'rev', ARGV[2])
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[1])
return s[3]
";

/// KEYS: account set, ends. ARGV: prefix, kept sid or '', now ns, now ms.
/// Revokes every live session of the account but the kept one; returns
/// their ids. Forgets ids whose session is gone.
const REVOKE_ACCOUNT: &str = r"
local p, keep, now = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local sk = p .. 's:' .. sid
  local s = redis.call('HMGET', sk, 'exp', 'rev')
  if not s[1] then
    redis.call('SREM', KEYS[1], sid)
  elseif sid ~= keep and not s[2] and lt(now, s[1]) then
    redis.call('HSET', sk, 'rev', now)
    redis.call('ZADD', KEYS[2], 'LT', ARGV[4], sid)
    out[#out + 1] = sid
  end
end
return out
";

/// KEYS: session, token set, new token. ARGV: prefix, now ns, sid, new
/// token hex. Marks every token of a live session used and makes the new
/// one current; 0 when the session is not live.
const REISSUE: &str = r"
local p, now = ARGV[1], ARGV[2]
local s = redis.call('HMGET', KEYS[1], 'exp', 'rev')
if not s[1] or s[2] or not lt(now, s[1]) then return 0 end
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local k = p .. 'rt:' .. h
  if redis.call('EXISTS', k) == 1 then
    redis.call('HSET', k, 'used', '1')
  else
    redis.call('SREM', KEYS[2], h)
  end
end
redis.call('HSET', KEYS[3], 'sid', ARGV[3], 'used', '0')
redis.call('SADD', KEYS[2], ARGV[4])
keep_until(KEYS[3], redis.call('PEXPIRETIME', KEYS[1]))
return 1
";

/// KEYS: session. ARGV: field/value pairs, set only if the session exists.
const SET_IF_EXISTS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
";

/// Delete session `sid` with its tokens; returns the keys deleted.
const DROP: &str = r"
local function drop(p, sid, ends)
  local n = 0
  local st = p .. 'st:' .. sid
  for _, h in ipairs(redis.call('SMEMBERS', st)) do
    n = n + redis.call('DEL', p .. 'rt:' .. h)
  end
  redis.call('DEL', st)
  local sk = p .. 's:' .. sid
  local acc = redis.call('HGET', sk, 'acc')
  if acc then redis.call('SREM', p .. 'as:' .. acc, sid) end
  n = n + redis.call('DEL', sk)
  redis.call('ZREM', ends, sid)
  return n
end
";

/// KEYS: account set, ends. ARGV: prefix. Deletes every session of the
/// account with its tokens; returns how many sessions.
const DELETE_ACCOUNT: &str = r"
local n = 0
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 's:' .. sid) == 1 then n = n + 1 end
  drop(ARGV[1], sid, KEYS[2])
end
redis.call('DEL', KEYS[1])
return n
";

/// KEYS: ends. ARGV: prefix, '(' .. before ms, limit. Deletes up to `limit`
/// sessions that ended (expired or revoked) before `before`, with their
/// tokens; returns {sessions looked at, keys deleted}.
const PRUNE: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, sid in ipairs(ids) do
  n = n + drop(ARGV[1], sid, KEYS[1])
end
return {#ids, n}
";

/// The compiled scripts (each sent once, then run by its SHA).
pub(crate) struct Scripts {
    pub(crate) create: redis::Script,
    pub(crate) rotate: redis::Script,
    pub(crate) revoke_one: redis::Script,
    pub(crate) revoke_account: redis::Script,
    pub(crate) reissue: redis::Script,
    pub(crate) set_if_exists: redis::Script,
    pub(crate) delete_account: redis::Script,
    pub(crate) prune: redis::Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let with = |body: &str| redis::Script::new(&format!("{PRELUDE}{body}"));
        let with_drop = |body: &str| redis::Script::new(&format!("{PRELUDE}{DROP}{body}"));
        Self {
            create: with(CREATE),
            rotate: with(ROTATE),
            revoke_one: with(REVOKE_ONE),
            revoke_account: with(REVOKE_ACCOUNT),
            reissue: with(REISSUE),
            set_if_exists: with(SET_IF_EXISTS),
            delete_account: with_drop(DELETE_ACCOUNT),
            prune: with_drop(PRUNE),
        }
    }
}
