import { isBrokenCircuitError } from 'cockatiel';
import { etcd3 } from './etcd3Module';

/** What went wrong, in terms a user can act on. Adapters pick icons/wording from it. */
export type EtcdErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'auth'
  | 'permission'
  | 'tls'
  | 'readOnly'
  | 'invalid'
  | 'compacted'
  | 'tooManyOps'
  | 'valueTooLarge'
  | 'noSpace'
  | 'cancelled'
  | 'closed'
  | 'config'
  | 'unknown';

/**
 * The only error type the core throws. `message` is written for the user (what happened and what to do);
 * `detail` keeps the server's own text for the log.
 */
export class EtcdExplorerError extends Error {
  constructor(
    readonly kind: EtcdErrorKind,
    message: string,
    readonly detail?: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'EtcdExplorerError';
  }
}

/** The text to show for anything thrown (an Error's message, anything else as a string). */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Cancellation is not a failure: callers check this and stay quiet. */
export function isCancellation(err: unknown): boolean {
  return err instanceof EtcdExplorerError && err.kind === 'cancelled';
}

export function cancelledError(): EtcdExplorerError {
  return new EtcdExplorerError('cancelled', 'The operation was cancelled.');
}

export interface ErrorContext {
  /** Short description of the attempted operation, e.g. "list keys". */
  readonly operation: string;
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
}

const TLS_HINTS = [
  'certificate',
  'ssl',
  'tls',
  'handshake',
  'self signed',
  'self-signed',
  'unable to verify',
  'wrong version number',
  'alpn',
];

function looksLikeTls(text: string): boolean {
  const lower = text.toLowerCase();
  return TLS_HINTS.some((hint) => lower.includes(hint));
}

function rawText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Translates anything etcd3/grpc-js/cockatiel throws into an {@link EtcdExplorerError} with a specific,
 * actionable message. Never returns a bare gRPC code.
 */
export function translateError(err: unknown, ctx: ErrorContext): EtcdExplorerError {
  if (err instanceof EtcdExplorerError) return err;
  const {
    EtcdAuthenticationFailedError,
    EtcdPermissionDeniedError,
    GRPCDeadlineExceededError,
    GRPCGenericError,
    GRPCInvalidArgumentError,
    GRPCResourceExhastedError,
    GRPCUnauthenticatedError,
    GRPCUnavailableError,
    ClientClosedError,
  } = etcd3();
  const detail = rawText(err);
  const where = ctx.endpoints.join(', ');
  const what = `Could not ${ctx.operation}`;

  if (err instanceof EtcdAuthenticationFailedError || /invalid user ID or password/i.test(detail)) {
    return new EtcdExplorerError(
      'auth',
      `${what}: wrong username or password for ${where}. Edit the connection to update its credentials.`,
      detail,
      err,
    );
  }
  if (/user name is empty|authentication is not enabled|auth: revision in header is old/i.test(detail)) {
    return new EtcdExplorerError('auth', `${what}: etcd rejected the credentials (${detail}).`, detail, err);
  }
  if (err instanceof EtcdPermissionDeniedError || /permission denied/i.test(detail)) {
    return new EtcdExplorerError(
      'permission',
      `${what}: permission denied. The user of this connection has no role granting this access.`,
      detail,
      err,
    );
  }
  if (err instanceof GRPCUnauthenticatedError || /user name not found|invalid auth token/i.test(detail)) {
    return new EtcdExplorerError(
      'auth',
      `${what}: etcd requires authentication (or the token expired). Set a username and password on the connection.`,
      detail,
      err,
    );
  }
  if (/too many operations in txn request/i.test(detail)) {
    return new EtcdExplorerError(
      'tooManyOps',
      `${what}: the transaction has more operations than the server allows (--max-txn-ops, 128 by default).`,
      detail,
      err,
    );
  }
  if (/Received message larger than max/i.test(detail)) {
    const size = /\((\d+) vs (\d+)\)/.exec(detail);
    return new EtcdExplorerError(
      'valueTooLarge',
      `${what}: the server's answer${size ? ` (${size[1]} bytes)` : ''} is larger than this client accepts${size ? ` (${size[2]} bytes)` : ''}. Narrow the request.`,
      detail,
      err,
    );
  }
  if (/request is too large|message larger than max|exceeds maximum|trying to send message larger/i.test(detail)) {
    return new EtcdExplorerError(
      'valueTooLarge',
      `${what}: the request is larger than the server accepts (--max-request-bytes, 1.5 MiB by default).`,
      detail,
      err,
    );
  }
  if (/mvcc: required revision has been compacted/i.test(detail)) {
    return new EtcdExplorerError(
      'compacted',
      `${what}: the requested revision has been compacted; history before it is gone.`,
      detail,
      err,
    );
  }
  if (/database space exceeded|NOSPACE/i.test(detail)) {
    return new EtcdExplorerError(
      'noSpace',
      `${what}: the cluster raised the NOSPACE alarm (database quota exceeded). Writes are refused until space is freed: compact, defragment and disarm the alarm.`,
      detail,
      err,
    );
  }
  if (err instanceof ClientClosedError) {
    return new EtcdExplorerError('closed', `${what}: the connection was closed.`, detail, err);
  }
  if (isBrokenCircuitError(err)) {
    return new EtcdExplorerError(
      'unreachable',
      `${what}: ${where} failed repeatedly and is paused for a few seconds to avoid a retry storm. Check that etcd is running and reachable.`,
      detail,
      err,
    );
  }
  if (err instanceof GRPCDeadlineExceededError || /deadline exceeded/i.test(detail)) {
    return new EtcdExplorerError(
      'timeout',
      `${what}: no answer from ${where} within ${formatMs(ctx.timeoutMs)}. The endpoint accepts connections but does not respond (firewall, wrong port, or a stuck server?).`,
      detail,
      err,
    );
  }
  if (looksLikeTls(detail)) {
    return new EtcdExplorerError(
      'tls',
      `${what}: TLS handshake with ${where} failed. Check the CA file (server certificate verification is on), the client certificate and key, and that the endpoints use https://.`,
      detail,
      err,
    );
  }
  if (
    err instanceof GRPCUnavailableError ||
    /ECONNREFUSED|UNAVAILABLE|No connection established|connect E/i.test(detail)
  ) {
    return new EtcdExplorerError(
      'unreachable',
      `${what}: ${where} is unreachable. Check that etcd is running and the endpoints are right.`,
      detail,
      err,
    );
  }
  if (err instanceof GRPCResourceExhastedError) {
    return new EtcdExplorerError('noSpace', `${what}: the server is out of resources (${detail}).`, detail, err);
  }
  if (err instanceof GRPCInvalidArgumentError) {
    return new EtcdExplorerError('invalid', `${what}: etcd rejected the request: ${stripPrefix(detail)}.`, detail, err);
  }
  if (err instanceof GRPCGenericError) {
    return new EtcdExplorerError('unknown', `${what}: ${stripPrefix(detail)}.`, detail, err);
  }
  return new EtcdExplorerError('unknown', `${what}: ${stripPrefix(detail)}`, detail, err);
}

function stripPrefix(text: string): string {
  return text.replace(/^\d+ [A-Z_]+: /, '').replace(/^etcdserver: /, '');
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
