// Writes that must not come from a process that lost its right to make
// them: a group member's statistics of targets another member has taken
// over (the owners hash fences them entry by entry), and the claim of an
// instance id (one process at a time). Each is a Lua script, so the check
// and the write are one step in Redis; a stale write that arrives late (a
// partition that heals, a command stuck in a buffer) is refused there.
// Redis-specific text and argument lists only; redis-store.ts runs them.

/** Runs a script: EVAL with these keys and arguments. */
export type Evaluate = (
  script: string,
  keys: readonly string[],
  args: readonly string[],
) => Promise<unknown>;

// KEYS: the group's statistics hash, its owners hash. ARGV: the saver's
// token ("<id> <generation>"), its id, the number n of entries, n field /
// value pairs, then the fields to forget. An entry is written if nobody
// owns it yet (the saver then does) or the saver's token does; one is
// forgotten if nobody else's id owns it (an older generation of the same
// member may: a target gone from the set for --forget-after has no owner to
// move on to). Returns the fields refused.
const SAVE_OWNED = `
local token, id, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local refused = {}
if n > 0 then
  local fields = {}
  for i = 1, n do fields[i] = ARGV[2 + 2 * i] end
  local owners = redis.call('HMGET', KEYS[2], unpack(fields))
  local write, claim = {}, {}
  for i = 1, n do
    local owner = owners[i]
    if not owner or owner == token then
      write[#write + 1] = fields[i]
      write[#write + 1] = ARGV[3 + 2 * i]
      if not owner then
        claim[#claim + 1] = fields[i]
        claim[#claim + 1] = token
      end
    else
      refused[#refused + 1] = fields[i]
    end
  end
  if #refused == 0 then
    -- The usual case, everything ours: straight from ARGV, no copy.
    redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + 2 * n))
  elseif #write > 0 then
    redis.call('HSET', KEYS[1], unpack(write))
  end
  if #claim > 0 then redis.call('HSET', KEYS[2], unpack(claim)) end
end
for i = 4 + 2 * n, #ARGV do
  local f = ARGV[i]
  local owner = redis.call('HGET', KEYS[2], f)
  if not owner or string.sub(owner, 1, #id + 1) == id .. ' ' then
    redis.call('HDEL', KEYS[1], f)
    redis.call('HDEL', KEYS[2], f)
  end
end
return refused
`;

// KEYS: statistics, owners. ARGV: the taker's token, then fields. Reads each
// entry and makes the taker its owner in the same step: whatever a former
// owner writes after this read would be lost anyway (the taker saves what it
// read plus its own counts), so it is refused instead of overwriting them.
const READ_AND_CLAIM = `
local out = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
local claim = {}
for i = 2, #ARGV do
  claim[#claim + 1] = ARGV[i]
  claim[#claim + 1] = ARGV[1]
end
redis.call('HSET', KEYS[2], unpack(claim))
return out
`;

// KEYS: the instance key. ARGV: run id, expiry (ms). Returns {1} when set,
// else {0, holder, PTTL}.
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('GET', KEYS[1]) or false, redis.call('PTTL', KEYS[1])}
`;

// Renews the claim if the run id holds it (1), takes it again if it expired
// (2), else returns the holder.
const RENEW = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return v
`;

// Takes the key over from a holder known to be gone, if it still holds it.
const REPLACE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS: the instance key, one of the instance's hashes. ARGV: the holder's
// value, the number n of fields, n field / value pairs, then the fields to
// delete. Writes only while that value holds the instance id: 1, else 0.
const WRITE_AS_HOLDER = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', KEYS[2], unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV > 2 + 2 * n then redis.call('HDEL', KEYS[2], unpack(ARGV, 3 + 2 * n)) end
return 1
`;

export interface GroupStatsKeys {
  readonly stats: string;
  readonly owners: string;
}

// Entries per script call: each call holds Redis for its length, and 500 HSETs take well under a ms.
const ENTRIES_PER_CALL = 500;

/** Writes entries the token may write and forgets what the id may forget; resolves to the fields refused. */
export async function saveOwned(
  evaluate: Evaluate,
  keys: GroupStatsKeys,
  owner: { token: string; id: string },
  entries: ReadonlyMap<string, string>,
  forget: readonly string[],
): Promise<string[]> {
  const all = [...entries];
  const refused: string[] = [];
  const calls = Math.max(1, Math.ceil(all.length / ENTRIES_PER_CALL));
  for (let c = 0; c < calls; c++) {
    const batch = all.slice(c * ENTRIES_PER_CALL, (c + 1) * ENTRIES_PER_CALL);
    if (batch.length === 0 && forget.length === 0) break;
    // The forgets ride with the last batch.
    const gone = c === calls - 1 ? forget : [];
    const args = [owner.token, owner.id, String(batch.length), ...batch.flat(), ...gone];
    const got = await evaluate(SAVE_OWNED, [keys.stats, keys.owners], args);
    if (Array.isArray(got)) for (const f of got) if (typeof f === 'string') refused.push(f);
  }
  return refused;
}

/**
 * Writes fields of one of an instance's hashes (`perCall` to a script call)
 * and deletes `forget`, each call only while `fence.holder` holds the
 * instance id; false if a call was refused (nothing after it is written).
 */
export async function writeAsHolder(
  evaluate: Evaluate,
  fence: { readonly key: string; readonly holder: string },
  hash: string,
  entries: ReadonlyMap<string, string>,
  forget: readonly string[],
  perCall: number,
): Promise<boolean> {
  const all = [...entries];
  const calls = Math.max(1, Math.ceil(all.length / perCall));
  for (let c = 0; c < calls; c++) {
    const batch = all.slice(c * perCall, (c + 1) * perCall);
    if (batch.length === 0 && forget.length === 0) break;
    const gone = c === calls - 1 ? forget : [];
    const args = [fence.holder, String(batch.length), ...batch.flat(), ...gone];
    if ((await evaluate(WRITE_AS_HOLDER, [fence.key, hash], args)) !== 1) return false;
  }
  return true;
}

/** Reads these entries and makes `token` their owner, in batches. */
export async function readAndClaim(
  evaluate: Evaluate,
  keys: GroupStatsKeys,
  token: string,
  fields: readonly string[],
  between: () => Promise<void>,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < fields.length; i += ENTRIES_PER_CALL) {
    const batch = fields.slice(i, i + ENTRIES_PER_CALL);
    const got = await evaluate(READ_AND_CLAIM, [keys.stats, keys.owners], [token, ...batch]);
    if (Array.isArray(got)) {
      got.forEach((text: unknown, j) => {
        if (typeof text === 'string') out.set(batch[j]!, text);
      });
    }
    await between();
  }
  return out;
}

export type ClaimResult =
  | { readonly held: true }
  | { readonly held: false; readonly holder: string | undefined; readonly ttlMs: number };

export async function claimKey(
  evaluate: Evaluate,
  key: string,
  runId: string,
  ttlMs: number,
): Promise<ClaimResult> {
  const got = await evaluate(CLAIM, [key], [runId, String(Math.round(ttlMs))]);
  if (!Array.isArray(got)) throw new Error('unexpected answer to the instance claim');
  if (got[0] === 1) return { held: true };
  const holder: unknown = got[1];
  return {
    held: false,
    holder: typeof holder === 'string' ? holder : undefined,
    ttlMs: Number(got[2]),
  };
}

export type RenewResult = 'renewed' | 'reclaimed' | { readonly holder: string };

export async function renewKey(
  evaluate: Evaluate,
  key: string,
  runId: string,
  ttlMs: number,
): Promise<RenewResult> {
  const got = await evaluate(RENEW, [key], [runId, String(Math.round(ttlMs))]);
  if (got === 1) return 'renewed';
  if (got === 2) return 'reclaimed';
  if (typeof got === 'string') return { holder: got };
  throw new Error('unexpected answer to the instance renewal');
}

export async function replaceKey(
  evaluate: Evaluate,
  key: string,
  holder: string,
  runId: string,
  ttlMs: number,
): Promise<boolean> {
  return (await evaluate(REPLACE, [key], [holder, runId, String(Math.round(ttlMs))])) === 1;
}

export async function releaseKey(evaluate: Evaluate, key: string, runId: string): Promise<void> {
  await evaluate(RELEASE, [key], [runId]);
}
