export { type ApplyOutcome, PolicyApplier, type PolicyApplierOptions, safeDocumentPath } from './apply';
export {
  CmNode,
  type CmNodeOptions,
  type CmNodeStats,
  type CmStatus,
  type CmStatusNode,
  type CmVersionRef,
} from './cm-node';
export {
  type ControlAnswer,
  type ControlRequest,
  controlRequest,
  controlSocketPath,
  serveControl,
} from './control';
export { policyDocument, readPolicyDirectory, readPolicyPath } from './policy-files';
export type { CmRuntimeData } from './runtime';
export { formatCmStatus } from './status-text';
export type { CmUpdateListStatus, CmUpdateStatus, UpdateTimings } from './updates';
