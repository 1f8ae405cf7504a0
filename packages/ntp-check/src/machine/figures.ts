// How figures read in messages and reasons, in one place.

/** A configured limit or exact figure, as short as exact: `500`, `0.25`, `1500.5`. @internal */
export function exactMs(x: number): string {
  return Number(x.toFixed(3)).toString();
}

/** A measured figure with precision by size: `0.123`, `12.35`, `120000.5`. @internal */
export function measuredMs(ms: number): string {
  const abs = Math.abs(ms);
  return ms.toFixed(abs >= 100 ? 1 : abs >= 10 ? 2 : 3);
}

/** A signed measured figure with its unit: `+0.123 ms`, `-3.500 ms`. @internal */
export function signedMs(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${measuredMs(ms)} ms`;
}
