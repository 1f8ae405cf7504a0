// The skew guard's verdict over one round of server results: selection, limits, reasons. Pure.
import { defineErrors } from '@proxyha/common';
import type { NtpError, NtpErrorCode } from '../errors';
import { exactMs, measuredMs, signedMs } from './figures';
import type { NtpSample } from './reply';
import { selectSources } from './select';

/** Default panic threshold: 1000 s, ntpd's. Beyond it NTP daemons refuse to correct the clock. */
export const DEFAULT_PANIC_THRESHOLD_MS = 1_000_000;

/** What one server gave in one round: a sample, or the reason there is none. */
export type NtpServerResult =
  | {
      /** Server label as `host:port`. */
      server: string;
      /** A valid sample. */
      ok: true;
      /** The sample (offset, delay, stratum, root distance, ...). */
      sample: NtpSample;
      /** False when the poll interval forbade asking again and an earlier sample was aged instead. */
      fresh: boolean;
      /** Age of the sample, ms (0 for fresh). */
      ageMs: number;
      /** Datagrams discarded while waiting (wrong nonce, undecodable). */
      discarded: number;
    }
  | {
      /** Server label as `host:port`. */
      server: string;
      /** No usable sample. */
      ok: false;
      /** Why: timeout, forged reply, Kiss-o'-Death, unsynchronized, ... */
      error: NtpError;
      /** Datagrams discarded while waiting. */
      discarded: number;
    };

/** Severity of one reason; the verdict is the worst `fail`/`warn` present, else `ok`. */
export type SkewLevel = 'ok' | 'info' | 'warn' | 'fail';

/**
 * The stable codes of verdicts (not errors: they describe a clock), with their meanings; `docs/errors.md`
 * lists them beside the error codes. The skew guard's reasons and the peer-skew verdicts use them.
 */
export const NTP_VERDICT_CODES = defineErrors('NTP', {
  NTP_OK: 'ok: the local clock is within the limits',
  NTP_NO_USABLE_SERVER: 'fail: no server gave a valid sample',
  NTP_NO_MAJORITY: 'fail: the servers disagree and no majority of correctness intervals overlaps',
  NTP_PANIC: 'fail: the offset exceeds the panic threshold (1000 s): the clock must be set by hand',
  NTP_TIME_DIFFERENCE_TOO_HIGH: 'fail: the offset (of the local clock, or of a peer) exceeds the maximum',
  NTP_OFFSET_NEAR_LIMIT: 'warn: the offset exceeds the warning level',
  NTP_OFFSET_UNCERTAIN: 'warn: the offset is within the limit but its error bound reaches beyond it',
  NTP_FEW_SERVERS: 'warn: fewer servers than needed to outvote a falseticker',
  NTP_FALSETICKER: 'info: a server was outvoted by the others',
  NTP_SERVER_REJECTED: 'info: a server gave no valid sample (the reason says why)',
  NTP_LEAP_PENDING: 'info: a leap second is announced',
  NTP_PEER_SKEW_OK: "ok: a peer's clock is within the limit even at the worst end of the error bound",
  NTP_PEER_SKEW_UNCERTAIN: "warn: a peer's clock may exceed the limit within the error bound",
});

/** A code of {@link NTP_VERDICT_CODES}. */
export type NtpVerdictCode = keyof typeof NTP_VERDICT_CODES;

/**
 * Stable code of a {@link SkewReason} (a verdict's reason, not an error): `NTP_OK`; `fail`:
 * `NTP_NO_USABLE_SERVER`, `NTP_NO_MAJORITY`, `NTP_PANIC`, `NTP_TIME_DIFFERENCE_TOO_HIGH`; `warn`:
 * `NTP_OFFSET_NEAR_LIMIT`, `NTP_OFFSET_UNCERTAIN`, `NTP_FEW_SERVERS`; `info`: `NTP_FALSETICKER`,
 * `NTP_SERVER_REJECTED`, `NTP_LEAP_PENDING`.
 */
export type SkewReasonCode = Exclude<NtpVerdictCode, 'NTP_PEER_SKEW_OK' | 'NTP_PEER_SKEW_UNCERTAIN'>;

/** One reason behind a verdict. */
export interface SkewReason {
  /** ok, info, warn or fail. */
  level: SkewLevel;
  /** Stable code, see {@link SkewReasonCode}. */
  code: SkewReasonCode;
  /** Human sentence, e.g. "time difference too high: offset +120000 ms exceeds max 500 ms". */
  message: string;
}

/** Limits for the guard. All in milliseconds. */
export interface SkewPolicy {
  /** Largest tolerated |offset|; beyond it the verdict is `fail`. */
  maxOffsetMs: number;
  /** |offset| beyond this is `warn` (default half of maxOffsetMs). */
  warnOffsetMs?: number;
  /** |offset| beyond this is a panic: sync will not fix it, set the clock by hand (default 1000 s). */
  panicThresholdMs?: number;
}

/** The guard's view of one server. */
export interface NtpServerVerdict {
  /** Server label as `host:port`. */
  server: string;
  /** ok, warn or fail for this server alone. */
  verdict: 'ok' | 'warn' | 'fail';
  /** truechimer (used), falseticker (outvoted), rejected (no valid sample). */
  role: 'truechimer' | 'falseticker' | 'rejected';
  /** Human reason: "ok", "falseticker", "Kiss-o'-Death RATE", "unsynchronized (leap indicator 3)", ... */
  reason: string;
  /** The sample, when there is one. */
  sample?: NtpSample;
  /** Whether the sample is fresh (see {@link NtpServerResult}). */
  fresh?: boolean;
  /** The error, when rejected: stable code, message, kiss code if any. */
  error?: {
    /** Stable {@link NtpErrorCode}. */
    code: NtpErrorCode;
    /** Human-readable reason. */
    message: string;
    /** Kiss code of a Kiss-o'-Death (RATE, DENY, RSTR, ...). */
    kissCode?: string;
  };
}

/** The guard's answer: verdict, reasons and figures. */
export interface SkewReport {
  /** Overall verdict. */
  verdict: 'ok' | 'warn' | 'fail';
  /** True when |offset| exceeds the panic threshold: the clock must be set by hand. */
  panic: boolean;
  /** Combined offset of the truechimers (server minus local, ms), when there is a majority. */
  offsetMs?: number;
  /** Root distance of the best truechimer, ms: the error bound of offsetMs. */
  rootDistanceMs?: number;
  /** RMS spread of the truechimers' offsets, ms. */
  jitterMs?: number;
  /** Every reason: fail, warn, ok, then info notes; the first one decides the verdict. */
  reasons: SkewReason[];
  /** Per-server verdicts in the order queried. */
  servers: NtpServerVerdict[];
  /** Servers whose samples were combined. */
  truechimers: string[];
  /** Servers outvoted by the intersection algorithm. */
  falsetickers: string[];
  /** Servers without a valid sample. */
  rejected: string[];
  /** The limits applied, ms. */
  limits: {
    /** Above this |offset|: fail. */
    maxOffsetMs: number;
    /** Above this |offset|: warn. */
    warnOffsetMs: number;
    /** Above this |offset|: panic (set the clock by hand). */
    panicThresholdMs: number;
  };
}

// Order of reasons: the one that decides the verdict first, notes last.
const RANK: Record<SkewLevel, number> = { fail: 3, warn: 2, ok: 1, info: 0 };

function offsetLevel(
  absMs: number,
  limits: SkewReport['limits'],
): { level: 'ok' | 'warn' | 'fail'; code: SkewReasonCode; panic: boolean } {
  if (absMs > limits.panicThresholdMs) return { level: 'fail', code: 'NTP_PANIC', panic: true };
  if (absMs > limits.maxOffsetMs)
    return { level: 'fail', code: 'NTP_TIME_DIFFERENCE_TOO_HIGH', panic: false };
  if (absMs > limits.warnOffsetMs) return { level: 'warn', code: 'NTP_OFFSET_NEAR_LIMIT', panic: false };
  return { level: 'ok', code: 'NTP_OK', panic: false };
}

/**
 * The skew guard's decision over one round of server results. Pure. Falsetickers are
 * rejected by intersecting correctness intervals ({@link selectSources}); the verdict
 * follows the truechimers' combined offset:
 *
 * - `fail`: no usable server, no majority, |offset| above `maxOffsetMs` ("time
 *   difference too high"), or above the panic threshold (set the clock by hand)
 * - `warn`: |offset| above `warnOffsetMs`, the error bound reaching past `maxOffsetMs`,
 *   or fewer than a majority of the queried servers usable
 * - `ok`: otherwise. Falsetickers and rejected servers are listed as `info` reasons
 *   and get `fail` in their own per-server verdicts.
 *
 * @param results - one entry per queried server
 * @param policy - limits
 */
export function evaluateSkew(results: readonly NtpServerResult[], policy: SkewPolicy): SkewReport {
  const limits = {
    maxOffsetMs: policy.maxOffsetMs,
    warnOffsetMs: policy.warnOffsetMs ?? policy.maxOffsetMs / 2,
    panicThresholdMs: policy.panicThresholdMs ?? DEFAULT_PANIC_THRESHOLD_MS,
  };
  const reasons: SkewReason[] = [];
  const usable = results.filter((r) => r.ok);
  const selection = selectSources(
    usable.map((r) => ({
      id: r.server,
      offsetMs: r.sample.offsetMs,
      rootDistanceMs: r.sample.rootDistanceMs,
    })),
  );
  const falsetickers = new Set(selection.falsetickers);
  const servers: NtpServerVerdict[] = results.map((r) => {
    if (!r.ok) {
      const kissCode = typeof r.error.details.kissCode === 'string' ? r.error.details.kissCode : undefined;
      return {
        server: r.server,
        verdict: 'fail',
        role: 'rejected',
        reason: r.error.message,
        error: { code: r.error.code, message: r.error.message, ...(kissCode ? { kissCode } : {}) },
      };
    }
    if (falsetickers.has(r.server)) {
      const reason = selection.ok ? 'falseticker' : 'no majority';
      return {
        server: r.server,
        verdict: 'fail',
        role: 'falseticker',
        reason,
        sample: r.sample,
        fresh: r.fresh,
      };
    }
    const lv = offsetLevel(Math.abs(r.sample.offsetMs), limits);
    const reason =
      lv.level === 'ok'
        ? 'ok'
        : lv.code === 'NTP_PANIC'
          ? 'offset beyond the panic threshold'
          : lv.level === 'fail'
            ? 'time difference too high'
            : 'offset near the limit';
    return {
      server: r.server,
      verdict: lv.level,
      role: 'truechimer',
      reason,
      sample: r.sample,
      fresh: r.fresh,
    };
  });

  for (const s of servers) {
    if (s.role === 'rejected') {
      reasons.push({ level: 'info', code: 'NTP_SERVER_REJECTED', message: `${s.server}: ${s.reason}` });
    } else if (s.role === 'falseticker' && selection.ok) {
      reasons.push({
        level: 'info',
        code: 'NTP_FALSETICKER',
        message: `${s.server}: falseticker (offset ${signedMs(s.sample!.offsetMs)} outside the majority's interval)`,
      });
    }
  }

  let panic = false;
  if (usable.length === 0) {
    const why = results.map((r) => (r.ok ? '' : `${r.server} ${r.error.message}`)).filter(Boolean);
    reasons.push({
      level: 'fail',
      code: 'NTP_NO_USABLE_SERVER',
      message: `no usable server${why.length ? `: ${why.join('; ')}` : ''}`,
    });
  } else if (!selection.ok) {
    reasons.push({
      level: 'fail',
      code: 'NTP_NO_MAJORITY',
      message: `no majority: the correctness intervals of ${usable.length} servers do not intersect (${usable
        .map((r) => `${r.server} ${signedMs(r.sample.offsetMs)}`)
        .join(', ')})`,
    });
  } else {
    const offsetMs = selection.offsetMs!;
    const bound = selection.rootDistanceMs!;
    const abs = Math.abs(offsetMs);
    const lv = offsetLevel(abs, limits);
    panic = lv.panic;
    const figure = `offset ${signedMs(offsetMs)} (±${measuredMs(bound)} ms)`;
    if (lv.code === 'NTP_PANIC') {
      reasons.push({
        level: 'fail',
        code: 'NTP_PANIC',
        message: `${figure} exceeds the panic threshold of ${exactMs(limits.panicThresholdMs / 1000)} s: automatic NTP sync will not correct this clock, set it by hand`,
      });
    } else if (lv.level === 'fail') {
      reasons.push({
        level: 'fail',
        code: 'NTP_TIME_DIFFERENCE_TOO_HIGH',
        message: `time difference too high: ${figure} exceeds max ${exactMs(limits.maxOffsetMs)} ms`,
      });
    } else if (lv.level === 'warn') {
      reasons.push({
        level: 'warn',
        code: 'NTP_OFFSET_NEAR_LIMIT',
        message: `${figure} is above the warning level ${exactMs(limits.warnOffsetMs)} ms (max ${exactMs(limits.maxOffsetMs)} ms)`,
      });
    } else if (abs + bound > limits.maxOffsetMs) {
      reasons.push({
        level: 'warn',
        code: 'NTP_OFFSET_UNCERTAIN',
        message: `${figure}: the error bound reaches past max ${exactMs(limits.maxOffsetMs)} ms`,
      });
    } else {
      reasons.push({
        level: 'ok',
        code: 'NTP_OK',
        message: `${figure} within max ${exactMs(limits.maxOffsetMs)} ms`,
      });
    }
    if (selection.truechimers.length * 2 <= results.length) {
      reasons.push({
        level: 'warn',
        code: 'NTP_FEW_SERVERS',
        message: `only ${selection.truechimers.length} of ${results.length} servers usable and in agreement`,
      });
    }
    for (const r of usable) {
      if (selection.truechimers.includes(r.server) && (r.sample.leap === 1 || r.sample.leap === 2)) {
        reasons.push({
          level: 'info',
          code: 'NTP_LEAP_PENDING',
          message: `${r.server}: leap second pending (leap indicator ${r.sample.leap})`,
        });
      }
    }
  }
  reasons.sort((a, b) => RANK[b.level] - RANK[a.level]);
  const worst = reasons[0]?.level ?? 'ok';
  const verdict = worst === 'fail' ? 'fail' : worst === 'warn' ? 'warn' : 'ok';
  return {
    verdict,
    panic,
    ...(selection.ok
      ? {
          offsetMs: selection.offsetMs!,
          rootDistanceMs: selection.rootDistanceMs!,
          jitterMs: selection.jitterMs!,
        }
      : {}),
    reasons,
    servers,
    truechimers: selection.truechimers,
    falsetickers: selection.ok ? selection.falsetickers : [],
    rejected: results.filter((r) => !r.ok).map((r) => r.server),
    limits,
  };
}
