// The CLI's two outputs: the table and the --json document.
import { measuredMs, signedMs } from '../machine/figures';
import type { SkewReport } from '../machine/skew';

function ms(x: number | undefined, signed = false): string {
  if (x === undefined) return '-';
  return signed ? signedMs(x) : `${measuredMs(x)} ms`;
}

/**
 * The CLI's human output: one line per server (offset, delay, stratum, verdict and
 * reason), then the overall verdict and its reasons.
 * @internal
 */
export function formatReport(report: SkewReport): string {
  const rows = report.servers.map((s) => [
    s.server,
    ms(s.sample?.offsetMs, true),
    ms(s.sample?.delayMs),
    s.sample ? String(s.sample.stratum) : '-',
    s.verdict === 'ok' ? 'ok' : `${s.verdict}: ${s.reason}${s.fresh === false ? ' (cached sample)' : ''}`,
  ]);
  const head = ['SERVER', 'OFFSET', 'DELAY', 'STRATUM', 'VERDICT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line), ''];
  const [first, ...rest] = report.reasons;
  out.push(`overall: ${report.verdict}${first ? `: ${first.message}` : ''}`);
  for (const r of rest) out.push(`  ${r.level}: ${r.message}`);
  return `${out.join('\n')}\n`;
}

/**
 * The CLI's `--json` document: the report with per-server figures flattened.
 * @internal
 */
export function reportToJson(report: SkewReport): unknown {
  return {
    verdict: report.verdict,
    panic: report.panic,
    offsetMs: report.offsetMs ?? null,
    rootDistanceMs: report.rootDistanceMs ?? null,
    jitterMs: report.jitterMs ?? null,
    limits: report.limits,
    reasons: report.reasons,
    truechimers: report.truechimers,
    falsetickers: report.falsetickers,
    rejected: report.rejected,
    servers: report.servers.map((s) => ({
      server: s.server,
      verdict: s.verdict,
      role: s.role,
      reason: s.reason,
      offsetMs: s.sample?.offsetMs ?? null,
      delayMs: s.sample?.delayMs ?? null,
      stratum: s.sample?.stratum ?? null,
      rootDistanceMs: s.sample?.rootDistanceMs ?? null,
      leap: s.sample?.leap ?? null,
      referenceId: s.sample?.referenceId ?? null,
      fresh: s.fresh ?? null,
      error: s.error ?? null,
    })),
  };
}
