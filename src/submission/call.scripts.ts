// The call store's Lua scripts. Each checks the writer's BullMQ job lock first (fenced), so a worker
// that lost its job can never overwrite the new holder; call.store.ts documents how they are used.

// Shared by the scripts below. A call's units are fields u:1..u:nu; `waiting` counts, per client, the
// pairs in calls that were never sealed (the backlog ops watch).
const PRELUDE = `
local function fenced(lockKey, token)
  return token == '' or redis.call('GET', lockKey) == token
end
-- The last KEY of every script is the changed-requests set (RequestStore.dirtyKey).
-- updatedAt never goes back (writers' clocks differ; fixed-width ISO strings compare as times).
local function touch(reqKey, ttl, now)
  redis.call('HINCRBY', reqKey, 'v', 1)
  local prev = redis.call('HGET', reqKey, 'updatedAt')
  if not prev or prev < now then redis.call('HSET', reqKey, 'updatedAt', now) end
  redis.call('EXPIRE', reqKey, ttl)
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[#KEYS], 'NX', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), string.match(reqKey, '([^:]+)$'))
end
local function addUnits(callKey, waitKey, a, n)
  local nu = redis.call('HINCRBY', callKey, 'nu', n)
  for k = 1, n do redis.call('HSET', callKey, 'u:' .. (nu - n + k), ARGV[a + k]) end
  redis.call('INCRBY', waitKey, n)
end
local function newCall(key, waitKey, ctx, a, n, now, ttl)
  if redis.call('EXISTS', key) == 1 then return false end
  redis.call('HSET', key, 'state', 'pending', 'ctx', ctx, 'createdAt', now, 'nu', 0)
  addUnits(key, waitKey, a, n)
  redis.call('EXPIRE', key, ttl)
  return true
end
`;

/**
 * The hand-off of one request's pairs, in one step. KEYS: request, its job lock, the client's waiting
 * counter, the hand-off ticket, the demand counter, the set of clients with calls, the new private calls, then per lane unit its lane
 * pointer and a candidate call key. ARGV: token, ttl, now, meta, mode ('new' | 'redrive'), max
 * identities per call, nPairs, per pair [fp, descriptor ('' keep), result, placement ('' final, c<k>
 * new call k, l<k> lane unit k, e<id> an existing call)], nCalls, per call [id, ctx, n, units…],
 * nLaneUnits, per lane unit [ctx, candidate id, identity, max entitlements, entitlements, nItems,
 * items…, n, units…], then the ids of the existing calls pairs go back to and their count (their keys,
 * then the changed-requests set, end KEYS), and last the client id. 'new' writes a request that does not exist yet (returns {2} when it
 * does); 'redrive' takes back only pairs that are final and in no call. A pair goes back only into a
 * call whose outcome is still unknown (never proven absent): else nothing is written and {3} is
 * returned; `rev` is bumped so a pass that read the call before cannot settle it without the pair.
 * Returns {1, created call ids…}.
 */
export const HANDOFF_LUA = `${PRELUDE}
local reqKey, lockKey, waitKey, ticketKey, demandKey, clientsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local token, ttl, now, meta, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local maxIds = tonumber(ARGV[6])
if not fenced(lockKey, token) then return {0} end
if mode == 'new' and redis.call('HEXISTS', reqKey, 'meta') == 1 then return {2} end
local nBack = tonumber(ARGV[#ARGV - 1])
for e = 1, nBack do
  local key = KEYS[#KEYS - 1 - nBack + e]
  if redis.call('HGET', key, 'state') ~= 'unknown' or redis.call('HEXISTS', key, 'absent') == 1 then return {3} end
end
local nPairs = tonumber(ARGV[7])
local a = 7 + nPairs * 4
local nCalls = tonumber(ARGV[a + 1])
a = a + 1
local created, callIds = {}, {}
for c = 1, nCalls do
  local id, ctx, n = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  callIds[c] = id
  if newCall(KEYS[6 + c], waitKey, ctx, a + 3, n, now, ttl) then created[#created + 1] = id end
  a = a + 3 + n
end
local nLane = tonumber(ARGV[a + 1])
a = a + 1
local laneCall = {}
local joined = 0
for u = 1, nLane do
  local laneKey, candKey = KEYS[6 + nCalls + 2 * u - 1], KEYS[6 + nCalls + 2 * u]
  local ctx, candId, ident = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local maxEnts, ents, nItems = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local itemsAt = a + 6
  local n = tonumber(ARGV[itemsAt + nItems + 1])
  local unitsAt = itemsAt + nItems + 1
  local callId = redis.call('GET', laneKey)
  local callKey = callId and (string.sub(candKey, 1, #candKey - #candId) .. callId)
  local fits = false
  if callKey and redis.call('HGET', callKey, 'state') == 'pending' and redis.call('HEXISTS', callKey, 'sealed') == 0 then
    local ni = tonumber(redis.call('HGET', callKey, 'ni') or '0')
    local ne = tonumber(redis.call('HGET', callKey, 'ne') or '0') + ents
    if redis.call('HEXISTS', callKey, 'i:' .. ident) == 0 then ni = ni + 1 end
    fits = ni <= maxIds and ne <= maxEnts and (ne == 0 or ni <= 10)
    for k = 1, nItems do
      if fits and redis.call('HEXISTS', callKey, 'x:' .. ident .. '|' .. ARGV[itemsAt + k]) == 1 then fits = false end
    end
  end
  if not fits then
    callId, callKey = candId, candKey
    newCall(callKey, waitKey, ctx, unitsAt, 0, now, ttl)
    redis.call('HSET', callKey, 'lane', laneKey)
    redis.call('SET', laneKey, callId, 'EX', ttl)
    created[#created + 1] = callId
  end
  addUnits(callKey, waitKey, unitsAt, n)
  if redis.call('HSETNX', callKey, 'i:' .. ident, 1) == 1 then redis.call('HINCRBY', callKey, 'ni', 1) end
  redis.call('HINCRBY', callKey, 'ne', ents)
  for k = 1, nItems do redis.call('HSET', callKey, 'x:' .. ident .. '|' .. ARGV[itemsAt + k], 1) end
  laneCall[u] = callId
  joined = joined + n
  a = unitsAt + n
end
if mode == 'new' then redis.call('HSET', reqKey, 'meta', meta, 'open', 0) end
local open = 0
for i = 1, nPairs do
  local b = 7 + (i - 1) * 4
  local fp, d, o, place = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  if mode == 'new' or redis.call('HEXISTS', reqKey, 'c:' .. fp) == 0 then
    if d ~= '' then redis.call('HSET', reqKey, 'd:' .. fp, d) end
    redis.call('HSET', reqKey, 'o:' .. fp, o)
    local call = nil
    local kind, ref = string.sub(place, 1, 1), string.sub(place, 2)
    if kind == 'c' then call = callIds[tonumber(ref)] elseif kind == 'l' then call = laneCall[tonumber(ref)] elseif kind == 'e' then call = ref end
    if call then
      redis.call('HSET', reqKey, 'c:' .. fp, call)
      open = open + 1
    end
  end
end
for e = 1, nBack do redis.call('HINCRBY', KEYS[#KEYS - 1 - nBack + e], 'rev', 1) end
redis.call('HINCRBY', reqKey, 'open', open)
redis.call('HSET', reqKey, 'phase', 'handed-off')
touch(reqKey, ttl, now)
redis.call('INCR', ticketKey)
redis.call('SADD', clientsKey, ARGV[#ARGV])
if joined > 0 then
  redis.call('INCRBY', demandKey, joined)
  redis.call('EXPIRE', demandKey, 120)
end
local out = {1}
for _, id in ipairs(created) do out[#out + 1] = id end
return out
`;

/**
 * A transition of one call and its pairs. KEYS: call, its job lock, the client's waiting counter, the
 * requests (nReq), the new calls, the changed-requests set. ARGV: token, callId, ttl, now, fromStates (comma list, '' = any),
 * newState ('' = keep), strict (1 = every listed pair must still be in this call and the call must
 * hold exactly `units` units at revision `rev`, else nothing is written), units, rev, nReq, nFields,
 * fields…, nPairs, per pair
 * [reqIndex, fp, result ('' keep), final, attemptsDelta, moveTo], nNew, per new call [id, ctx, n,
 * units…]. Returns {1, touched request indexes (negative: still open)…}, {0} lock lost, {-1, state},
 * {-2} moved.
 */
export const APPLY_LUA = `${PRELUDE}
local callKey, lockKey, waitKey = KEYS[1], KEYS[2], KEYS[3]
local token, callId, ttl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local from, to, strict, units, rev, nReq = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10])
if not fenced(lockKey, token) then return {0} end
local state = redis.call('HGET', callKey, 'state')
if not state then return {-1, ''} end
if from ~= '' and not string.find(',' .. from .. ',', ',' .. state .. ',', 1, true) then return {-1, state} end
local nFields = tonumber(ARGV[11])
local p0 = 11 + nFields * 2
local nPairs = tonumber(ARGV[p0 + 1])
local n0 = p0 + 1 + nPairs * 6
if strict == '1' then
  if units ~= '' and redis.call('HGET', callKey, 'nu') ~= units then return {-2} end
  if rev ~= '' and (redis.call('HGET', callKey, 'rev') or '0') ~= rev then return {-2} end
  for i = 1, nPairs do
    local a = p0 + 1 + (i - 1) * 6
    if redis.call('HGET', KEYS[3 + tonumber(ARGV[a + 1])], 'c:' .. ARGV[a + 2]) ~= callId then return {-2} end
  end
end
local nNew = tonumber(ARGV[n0 + 1])
local a = n0 + 1
for c = 1, nNew do
  local n = tonumber(ARGV[a + 3])
  newCall(KEYS[3 + nReq + c], waitKey, ARGV[a + 2], a + 3, n, now, ttl)
  a = a + 3 + n
end
if to ~= '' and to ~= state then
  if state == 'pending' and redis.call('HSETNX', callKey, 'sealed', 1) == 1 then
    local counts = redis.call('HMGET', callKey, 'nu', 'nc')
    redis.call('DECRBY', waitKey, tonumber(counts[1] or '0') - tonumber(counts[2] or '0'))
  end
  redis.call('HSET', callKey, 'state', to)
end
for f = 1, nFields do
  local k, v = ARGV[11 + f * 2 - 1], ARGV[11 + f * 2]
  if v == '' then redis.call('HDEL', callKey, k) else redis.call('HSET', callKey, k, v) end
end
redis.call('EXPIRE', callKey, ttl)
local touched, done = {}, {}
for i = 1, nPairs do
  local b = p0 + 1 + (i - 1) * 6
  local ri, fp, o, final, delta, moveTo = tonumber(ARGV[b + 1]), ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], tonumber(ARGV[b + 5]), ARGV[b + 6]
  local reqKey = KEYS[3 + ri]
  if redis.call('HGET', reqKey, 'c:' .. fp) == callId then
    if o ~= '' then redis.call('HSET', reqKey, 'o:' .. fp, o) end
    if delta ~= 0 then redis.call('HINCRBY', reqKey, 'a:' .. fp, delta) end
    if moveTo ~= '' then redis.call('HSET', reqKey, 'c:' .. fp, moveTo) end
    if final == '1' then
      redis.call('HDEL', reqKey, 'c:' .. fp)
      if redis.call('HINCRBY', reqKey, 'open', -1) <= 0 then done[ri] = true end
    end
    touched[ri] = true
  end
end
local out = {1}
for ri in pairs(touched) do
  touch(KEYS[3 + ri], ttl, now)
  if done[ri] then out[#out + 1] = ri else out[#out + 1] = -ri end
end
return out
`;

export const STAMP_LUA = `${PRELUDE}
if not fenced(KEYS[1], ARGV[1]) or redis.call('HGET', KEYS[2], 'state') ~= 'in-flight' then return 0 end
redis.call('HSET', KEYS[2], 'sentAt', ARGV[2])
return 1
`;
