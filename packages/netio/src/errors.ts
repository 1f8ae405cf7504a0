/** Stable codes of every error this package raises. */
export type NetioErrorCode =
  | 'NETIO_PERMISSION'
  | 'NETIO_ADDON_UNAVAILABLE'
  | 'NETIO_UNKNOWN_INTERFACE'
  | 'NETIO_INVALID_ARGUMENT'
  | 'NETIO_BROADCAST_NOT_ENABLED'
  | 'NETIO_CLOSED'
  | 'NETIO_SYSTEM';

/** Base class of all errors raised by `@proxyha/netio`; switch on {@link NetioError.code}. */
export class NetioError extends Error {
  /** Stable machine-readable code. */
  readonly code: NetioErrorCode;

  /** @param code - stable code; @param message - what happened and what to do; @param options - `cause` */
  constructor(code: NetioErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetioError';
    this.code = code;
  }
}

/** The Linux capability an operation needs. */
export type Capability = 'CAP_NET_RAW' | 'CAP_NET_ADMIN';

/**
 * The kernel refused an operation with EPERM/EACCES: the process lacks a capability.
 * The message names the capability and how to grant it.
 */
export class NetioPermissionError extends NetioError {
  /** The missing capability. */
  readonly capability: Capability;
  /** What was attempted, e.g. `open raw IPv4 socket for protocol 112`. */
  readonly operation: string;

  /** @param operation - what was attempted; @param capability - what it needs; @param options - `cause` */
  constructor(operation: string, capability: Capability, options?: { cause?: unknown }) {
    const cap = capability.toLowerCase();
    super(
      'NETIO_PERMISSION',
      `${operation}: permission denied, ${capability} is required. Run as root, or grant the capability ` +
        `to Node: \`sudo setcap ${cap}+ep $(readlink -f $(which node))\` (or AmbientCapabilities=${capability} ` +
        'in a systemd unit).',
      options,
    );
    this.name = 'NetioPermissionError';
    this.capability = capability;
    this.operation = operation;
  }
}

/** The native addon is not built or cannot load here; raised only when a raw or packet socket is opened. */
export class NetioAddonUnavailableError extends NetioError {
  /** Why the addon is unavailable (missing file, load error, platform). */
  readonly reason: string;

  /** @param reason - why the addon is unavailable; @param options - `cause` */
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      'NETIO_ADDON_UNAVAILABLE',
      `the @proxyha/netio native addon is unavailable (${reason}); raw IP and packet sockets need it. ` +
        'Install python3, make and g++ and run `pnpm --filter @proxyha/netio build` (or `npm rebuild @proxyha/netio`); ' +
        'without it use a non-raw transport or MemoryNetwork.',
      options,
    );
    this.name = 'NetioAddonUnavailableError';
    this.reason = reason;
  }
}

/** No interface of that name exists (in this network namespace). */
export class NetioUnknownInterfaceError extends NetioError {
  /** The name that was looked up. */
  readonly interfaceName: string;

  /** @param interfaceName - the name that was looked up */
  constructor(interfaceName: string) {
    super('NETIO_UNKNOWN_INTERFACE', `unknown network interface "${interfaceName}" (see \`ip link\`)`);
    this.name = 'NetioUnknownInterfaceError';
    this.interfaceName = interfaceName;
  }
}

/** An argument is malformed or out of range; raised before any system call. */
export class NetioInvalidArgumentError extends NetioError {
  /** The argument's name, e.g. `options.ttl`. */
  readonly argument: string;
  /** The offending value. */
  readonly value: unknown;

  /** @param argument - argument path; @param value - offending value; @param expected - what would be valid */
  constructor(argument: string, value: unknown, expected: string) {
    super('NETIO_INVALID_ARGUMENT', `invalid ${argument}: ${describe(value)} (expected ${expected})`);
    this.name = 'NetioInvalidArgumentError';
    this.argument = argument;
    this.value = value;
  }
}

/** A system call failed for a reason other than permissions; `errno` is the symbolic name, e.g. `EMSGSIZE`. */
export class NetioSystemError extends NetioError {
  /** Symbolic errno, e.g. `ENETDOWN`. */
  readonly errno: string;
  /** The failing system call, e.g. `sendmsg`. */
  readonly syscall: string;

  /** @param operation - what was attempted; @param errno - symbolic errno; @param syscall - failing call */
  constructor(operation: string, errno: string, syscall: string, options?: { cause?: unknown }) {
    super('NETIO_SYSTEM', `${operation}: ${syscall} failed with ${errno}`, options);
    this.name = 'NetioSystemError';
    this.errno = errno;
    this.syscall = syscall;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Uint8Array) return `${value.constructor.name}(${value.length})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Error shape thrown by the native addon. */
interface NativeError {
  code?: string;
  syscall?: string;
}

/** Maps an error thrown by the addon to a typed error. */
export function fromNative(error: unknown, operation: string, capability: Capability): NetioError {
  if (error instanceof NetioError) return error;
  const e = (error ?? {}) as NativeError;
  if (e.code === 'EPERM' || e.code === 'EACCES')
    return new NetioPermissionError(operation, capability, { cause: error });
  return new NetioSystemError(operation, e.code ?? 'UNKNOWN', e.syscall ?? '?', { cause: error });
}
