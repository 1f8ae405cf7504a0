/** A server that produced a valid sample and takes part in selection. */
export interface SelectionCandidate {
  /** Server label, used to name falsetickers. */
  id: string;
  /** Offset θ, ms. */
  offsetMs: number;
  /** Root distance λ, ms: the correctness interval is [θ - λ, θ + λ]. */
  rootDistanceMs: number;
}

/** Outcome of the intersection (Marzullo) algorithm and the combine step. */
export interface SelectionResult {
  /** A majority of candidates have intersecting correctness intervals. */
  ok: boolean;
  /** Candidates whose interval overlaps the majority intersection. */
  truechimers: string[];
  /** Candidates whose interval misses it (all of them when there is no majority). */
  falsetickers: string[];
  /** The majority intersection [lowMs, highMs], when found. */
  intersection?: {
    /** Lower end, ms. */
    lowMs: number;
    /** Upper end, ms. */
    highMs: number;
  };
  /** Combined offset of the truechimers, weighted by 1/λ (RFC 5905 clock combine). */
  offsetMs?: number;
  /** Smallest root distance among the truechimers (the system peer's), ms. */
  rootDistanceMs?: number;
  /** RMS spread of truechimer offsets around the combined offset, ms. */
  jitterMs?: number;
}

/**
 * Rejects falsetickers the way ntpd's clock-select does (RFC 5905 section 11.2.1):
 * find the smallest interval contained in the correctness intervals of the largest
 * number of candidates, allowing f falsetickers for f = 0, 1, ... while 2f < n; a
 * candidate whose interval misses that intersection is a falseticker. Survivors are
 * combined by 1/λ weights. Pure and deterministic.
 *
 * @param candidates - one entry per server with a valid sample
 */
export function selectSources(candidates: readonly SelectionCandidate[]): SelectionResult {
  const n = candidates.length;
  if (n === 0) return { ok: false, truechimers: [], falsetickers: [] };
  // Endpoints: type -1 for a lower edge, +1 for an upper edge. At equal values lower
  // edges sort first so that touching (closed) intervals count as intersecting.
  const edges = candidates
    .flatMap((c) => [
      { val: c.offsetMs - c.rootDistanceMs, type: -1 },
      { val: c.offsetMs + c.rootDistanceMs, type: 1 },
    ])
    .sort((a, b) => a.val - b.val || a.type - b.type);
  let low = Number.NaN;
  let high = Number.NaN;
  let found = false;
  for (let allow = 0; 2 * allow < n; allow++) {
    let count = 0;
    low = Number.NaN;
    for (const e of edges) {
      count -= e.type;
      if (count >= n - allow) {
        low = e.val;
        break;
      }
    }
    count = 0;
    high = Number.NaN;
    for (let i = edges.length - 1; i >= 0; i--) {
      const e = edges[i]!;
      count += e.type;
      if (count >= n - allow) {
        high = e.val;
        break;
      }
    }
    if (high >= low) {
      found = true;
      break;
    }
  }
  if (!found) return { ok: false, truechimers: [], falsetickers: candidates.map((c) => c.id) };
  const truechimers = candidates.filter(
    (c) => c.offsetMs + c.rootDistanceMs >= low && c.offsetMs - c.rootDistanceMs <= high,
  );
  const falsetickers = candidates.filter((c) => !truechimers.includes(c)).map((c) => c.id);
  let wsum = 0;
  let osum = 0;
  for (const c of truechimers) {
    const w = 1 / Math.max(c.rootDistanceMs, Number.MIN_VALUE);
    wsum += w;
    osum += w * c.offsetMs;
  }
  const offsetMs = osum / wsum;
  const jitterMs = Math.sqrt(
    truechimers.reduce((s, c) => s + (c.offsetMs - offsetMs) ** 2, 0) / truechimers.length,
  );
  return {
    ok: true,
    truechimers: truechimers.map((c) => c.id),
    falsetickers,
    intersection: { lowMs: low, highMs: high },
    offsetMs,
    rootDistanceMs: Math.min(...truechimers.map((c) => c.rootDistanceMs)),
    jitterMs,
  };
}
