import { describe, it } from 'vitest';
import { isRoot } from './exec';

/** Why namespace tests cannot run here, or undefined when they can. */
export function netUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (!isRoot()) return 'needs root (network namespaces, raw sockets): run the suite as root';
  return undefined;
}

/**
 * `describe` for tests that need root and Linux network namespaces. Where they cannot
 * run, the suite shows one skipped test whose name gives the reason; when `CI=true`
 * that test fails instead, because a skipped network test in CI is a failure.
 */
export function describeNet(name: string, fn: () => void): void {
  const reason = netUnavailableReason();
  if (!reason) {
    describe(name, fn);
    return;
  }
  describe(name, () => {
    if (process.env.CI === 'true') {
      it(`cannot run: ${reason}`, () => {
        throw new Error(`CI=true and this network test cannot run: ${reason}`);
      });
    } else {
      it.skip(`skipped: ${reason}`, () => {});
    }
  });
}
