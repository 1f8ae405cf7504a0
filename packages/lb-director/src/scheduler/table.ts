// The bucket table: weighted Maglev with exact quotas, and the bounded-load fallback.
//
// Maglev (Eisenbud et al., NSDI 2016, section 3.4): every node has a permutation of the buckets,
// `offset + j * skip (mod M)` with M prime and offset/skip from a hash of the node id; the nodes take turns
// claiming their next preferred bucket that is still free until every bucket has an owner. Changes to the
// plain algorithm (all stateless: the table is a function of the ids, the weights and M only):
//  - weighted turns: in each round a node earns `weight / maxWeight` turns (IPVS mh repeats a node
//    `weight` times per round, which needs integer weights; credits accept the real-valued weights);
//  - exact quotas: a node stops claiming once it holds its quota, the largest-remainder apportionment of
//    M by weight, so every share is within one bucket of the ideal (plain Maglev only approximates
//    weighted shares);
//  - table size: Maglev's extra disruption (buckets that move between surviving nodes when one node
//    leaves) falls like sqrt(nodes / M); at >= 200 buckets per node it stays below 1 % of the table
//    (measured by bench/scheduler.mjs), so the default sizes keep that ratio (TABLE_SIZES).

/** Owner value of a bucket no node can take. */
export const NO_OWNER = 0xffff;

/**
 * The default table sizes (primes). The table uses the first one with at least
 * 200 buckets per node: 32749 up to 163 nodes, 65521 up to 327; beyond that the
 * smallest prime >= 200 x nodes.
 */
export const TABLE_SIZES: readonly number[] = Object.freeze([32749, 65521]);

/** Fewest buckets per node of a default-sized table. */
export const MIN_BUCKETS_PER_NODE = 200;

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export { isPrime };

/**
 * The default table size for a group of `n` nodes (see {@link TABLE_SIZES}).
 *
 * @param n - the number of nodes of the group (all members, healthy or not)
 */
export function tableSizeFor(n: number): number {
  const need = MIN_BUCKETS_PER_NODE * Math.max(1, n);
  for (const s of TABLE_SIZES) if (s >= need) return s;
  let m = need + 1;
  while (!isPrime(m)) m += 2;
  return m;
}

/** 32-bit finaliser (murmur3 fmix32). */
function fmix(x0: number): number {
  let x = x0 >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A 32-bit hash of a node id (FNV-1a over its UTF-16 code units, then fmix32).
 *
 * @param id - the node id
 * @param basis - distinguishes independent hashes of the same id
 */
export function idHash(id: string, basis: number): number {
  let h = (0x811c9dc5 ^ basis) >>> 0;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/**
 * Largest-remainder apportionment of `size` buckets by `weights` (ties: lower index first). Nodes with
 * weight 0 get 0; with no positive weight every quota is 0.
 *
 * @param weights - the weights (>= 0)
 * @param size - the number of buckets
 */
export function quotas(weights: readonly number[], size: number): number[] {
  let total = 0;
  for (const w of weights) total += w;
  const q = weights.map(() => 0);
  if (!(total > 0)) return q;
  const rest: { r: number; i: number }[] = [];
  let given = 0;
  weights.forEach((w, i) => {
    const exact = (w * size) / total;
    const f = Math.floor(exact);
    q[i] = f;
    given += f;
    if (w > 0) rest.push({ r: exact - f, i });
  });
  rest.sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; given < size && rest.length > 0; k = (k + 1) % rest.length) {
    const i = (rest[k] as { i: number }).i;
    q[i] = (q[i] as number) + 1;
    given++;
  }
  return q;
}

/**
 * Fills a table: `owners[b]` is the index (into `ids`) of bucket b's owner; NO_OWNER everywhere when no
 * weight is positive.
 *
 * @param ids - node ids, sorted (the turn order)
 * @param weights - their weights (>= 0; 0 never owns a bucket)
 * @param size - table size, a prime
 */
export function buildOwners(ids: readonly string[], weights: readonly number[], size: number): Uint16Array {
  const owners = new Uint16Array(size).fill(NO_OWNER);
  const q = quotas(weights, size);
  const live: number[] = [];
  let maxW = 0;
  for (let i = 0; i < ids.length; i++)
    if ((q[i] as number) > 0) {
      live.push(i);
      maxW = Math.max(maxW, weights[i] as number);
    }
  const n = live.length;
  if (n === 0) return owners;
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  const left = new Int32Array(n);
  const step = new Float64Array(n);
  const credit = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const i = live[j] as number;
    pos[j] = idHash(ids[i] as string, 0) % size;
    skip[j] = (idHash(ids[i] as string, 0x5bd1e995) % (size - 1)) + 1;
    left[j] = q[i] as number;
    step[j] = (weights[i] as number) / maxW;
  }
  let free = size;
  while (free > 0) {
    for (let j = 0; j < n; j++) {
      if ((left[j] as number) === 0) continue;
      credit[j] = (credit[j] as number) + (step[j] as number);
      while ((credit[j] as number) >= 1 && (left[j] as number) > 0) {
        credit[j] = (credit[j] as number) - 1;
        let c = pos[j] as number;
        const s = skip[j] as number;
        while (owners[c] !== NO_OWNER) {
          c += s;
          if (c >= size) c -= size;
        }
        owners[c] = live[j] as number;
        c += s;
        if (c >= size) c -= size;
        pos[j] = c;
        left[j] = (left[j] as number) - 1;
        free--;
      }
    }
  }
  return owners;
}

/**
 * The fallback owner of bucket `b` among `candidates`: weighted rendezvous hashing (the largest
 * `weight / -ln(u)`, u in (0,1) from a hash of the node id and the bucket index; ties: lower index).
 *
 * @param b - the bucket
 * @param candidates - node indexes
 * @param hashes - idHash of every node
 * @param weights - every node's weight
 */
export function rendezvous(
  b: number,
  candidates: readonly number[],
  hashes: readonly number[],
  weights: readonly number[],
): number {
  const hb = fmix((b + 0x9e3779b9) >>> 0);
  let best = -1;
  let owner = NO_OWNER;
  for (const i of candidates) {
    const u = (fmix((hashes[i] as number) ^ hb) + 0.5) / 4294967296;
    const score = (weights[i] as number) / -Math.log(u);
    if (score > best) {
      best = score;
      owner = i;
    }
  }
  return owner;
}

/**
 * The table handed to the data planes: `base` with every bucket of an over-bound node given to its
 * {@link rendezvous} choice among the nodes with weight > 0 that are not bound. Returns `base` itself when
 * no node is bound or when every node with weight is.
 *
 * @param ids - node ids, sorted
 * @param weights - the weights `base` was built with
 * @param base - the Maglev table
 * @param bound - per node: over its bound
 */
export function applyBound(
  ids: readonly string[],
  weights: readonly number[],
  base: Uint16Array,
  bound: readonly boolean[],
): Uint16Array {
  if (!bound.some((x) => x)) return base;
  const ok: number[] = [];
  for (let i = 0; i < weights.length; i++) if ((weights[i] as number) > 0 && !bound[i]) ok.push(i);
  if (ok.length === 0) return base;
  const hashes = ids.map((id) => idHash(id, 0x27d4eb2f));
  const out = base.slice();
  for (let b = 0; b < out.length; b++) {
    const ow = out[b] as number;
    if (ow !== NO_OWNER && bound[ow]) out[b] = rendezvous(b, ok, hashes, weights);
  }
  return out;
}
