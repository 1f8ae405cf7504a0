/**
 * proxyha's network test lab (private).
 *
 * Linux network namespaces joined by a bridge, real peers (keepalived, FRR vrrpd,
 * chronyd, tinyproxy, socat), tcpdump captures dissected by tshark, and packet loss
 * and partitions with nftables; everything it creates is removed again, on success,
 * failure, timeout or interrupt.
 *
 * ```ts
 * import { describeNet, withLab } from '@proxyha/testlab';
 *
 * describeNet('two nodes', () => {
 *   it('ping', () =>
 *     withLab({ nodes: ['a', 'b'] }, async (lab) => {
 *       await lab.exec('a', 'ping', ['-c1', '-W1', lab.node('b').ipv4]);
 *     }));
 * });
 * ```
 *
 * @packageDocumentation
 */

export { describeNet, netUnavailableReason } from './describe-net';
export { type ExecResult, isRoot, type RunOptions, run, sourceNodeArgs } from './exec';
export {
  type Capture,
  type DropOptions,
  type DropRule,
  type FrrInstance,
  Lab,
  type LabNode,
  type LabNodeSpec,
  type LabOptions,
  type TsharkLayers,
  tsharkField,
  tsharkProblems,
  withLab,
} from './lab';
export { ManagedProcess, type ProcessExit, type SpawnOptions } from './process';
export { type ChronydOptions, Scope, type TinyproxyOptions, withScope } from './scope';
