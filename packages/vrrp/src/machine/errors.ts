/**
 * Stable error codes of the VRRP state machine.
 *
 * - `VRRP_MACHINE_CONFIG`: a `MachineConfig` failed validation (see `problems`).
 * - `VRRP_MACHINE_EVENT`: an event is malformed (unknown type, or a time that is not a finite number).
 * - `VRRP_SYNC_GROUP`: a `SyncGroup` was built or addressed wrongly (duplicate or unknown member).
 */
export type VrrpMachineErrorCode = 'VRRP_MACHINE_CONFIG' | 'VRRP_MACHINE_EVENT' | 'VRRP_SYNC_GROUP';

/**
 * The one error class thrown by the state machine. Branch on {@link VrrpMachineError.code}, which is
 * stable across releases; the message is for humans and names the offending path and value.
 */
export class VrrpMachineError extends Error {
  /** Stable machine-readable code. */
  readonly code: VrrpMachineErrorCode;
  /** For validation errors: one entry per problem, each `path: message`. */
  readonly problems: readonly string[];

  /**
   * @param code - stable code
   * @param message - human-readable message
   * @param problems - individual validation problems, if any
   */
  constructor(code: VrrpMachineErrorCode, message: string, problems: readonly string[] = []) {
    super(message);
    this.name = 'VrrpMachineError';
    this.code = code;
    this.problems = problems;
  }
}
