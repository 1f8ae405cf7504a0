// Error helpers of the codec (internal): cheap decode errors with the offset, validation errors with issues.
import { type ConfigIssue, err, formatIssues } from '@proxyha/common';
import { LbError, type LbErrorCode } from '../errors';

/** Details of an error returned by {@link decodeMessage} and the verifier. */
export interface LbDecodeDetails {
  /** Byte offset, from the start of the decoded buffer, where the problem was found. */
  readonly offset: number;
  /** The offending field, when one is to blame: `group`, `redirects[2].originalPort`, `auth.keyId`, ... */
  readonly field?: string;
}

/** Details of an `LB_INVALID_ARGUMENT` or `LB_BAD_KEY_FILE` error. */
export interface LbIssueDetails {
  /** One entry per problem: where (`redirects[0].destinationPort`, `line 3`) and what, naming the value. */
  readonly issues: readonly ConfigIssue[];
}

/** A failed decode: an error without a stack trace (cheap to make for a flood of bad packets). */
export function decodeError(
  code: LbErrorCode,
  message: string,
  offset: number,
  field?: string,
): { readonly ok: false; readonly error: LbError<LbDecodeDetails> } {
  const details: LbDecodeDetails = field === undefined ? { offset } : { offset, field };
  return err(new LbError<LbDecodeDetails>(code, message, { details, stack: false }));
}

/** `LB_INVALID_ARGUMENT` listing every issue. */
export function invalidArgument(what: string, issues: readonly ConfigIssue[]): LbError<LbIssueDetails> {
  return new LbError<LbIssueDetails>('LB_INVALID_ARGUMENT', formatIssues(what, issues), {
    details: { issues },
  });
}
