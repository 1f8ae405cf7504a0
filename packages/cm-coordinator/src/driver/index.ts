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
export { formatCmStatus } from './status-text';
