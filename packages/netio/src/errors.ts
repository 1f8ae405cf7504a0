// The error catalogue and error classes of @proxyha/netio.
import { defineErrors, ProxyhaError } from '@proxyha/common';

/**
 * Every error code `@proxyha/netio` raises, with what it means. Branch on `error.code`; the context is in
 * `error.details`.
 */
export const NETIO_ERRORS = defineErrors('NETIO', {
  NETIO_PERMISSION: 'the process lacks the capability (CAP_NET_RAW or CAP_NET_ADMIN) the operation needs',
  NETIO_ADDON_UNAVAILABLE:
    'the native addon does not load here, so raw IP and packet sockets cannot be opened',
  NETIO_UNKNOWN_INTERFACE: 'no network interface of that name exists in this network namespace',
  NETIO_INVALID_ARGUMENT: 'an argument or option object of a netio function failed validation',
  NETIO_BROADCAST_NOT_ENABLED:
    'a datagram to a broadcast address was sent on a socket without broadcast: true',
  NETIO_CLOSED: 'the socket is closed',
  NETIO_SYSTEM: 'a system call failed for a reason other than permissions',
  NETIO_MACVLAN_CONFLICT: 'the macvlan name is taken by a different interface',
  NETIO_COMMAND_FAILED: 'an ip or sysctl command managing a link failed',
});

/** A code of {@link NETIO_ERRORS}. */
export type NetioErrorCode = keyof typeof NETIO_ERRORS;

/**
 * The error class of `@proxyha/netio`: every error it raises or rejects with is one. Switch on
 * {@link NetioError.code}; the subclasses below exist for `instanceof` and type the `details`.
 *
 * @typeParam D - the shape of `details`
 */
export class NetioError<D extends object = Readonly<Record<string, unknown>>> extends ProxyhaError<
  NetioErrorCode,
  D
> {}

/** The Linux capability an operation needs. */
export type Capability = 'CAP_NET_RAW' | 'CAP_NET_ADMIN';

/** Details of a {@link NetioPermissionError}. */
export type NetioPermissionDetails = {
  /** The missing capability. */
  readonly capability: Capability;
  /** What was attempted, e.g. `open raw IPv4 socket for protocol 112`. */
  readonly operation: string;
};

/**
 * `NETIO_PERMISSION`: the kernel refused an operation with EPERM/EACCES, the process lacks a capability.
 * The message names the capability and how to grant it.
 */
export class NetioPermissionError extends NetioError<NetioPermissionDetails> {
  /**
   * @param operation - what was attempted
   * @param capability - what it needs
   * @param options - the underlying error
   */
  constructor(operation: string, capability: Capability, options: { cause?: unknown } = {}) {
    const cap = capability.toLowerCase();
    super(
      'NETIO_PERMISSION',
      `${operation}: permission denied, ${capability} is required. Run as root, or grant the capability ` +
        `to Node: \`sudo setcap ${cap}+ep $(readlink -f $(which node))\` (or AmbientCapabilities=${capability} ` +
        'in a systemd unit).',
      { details: { capability, operation }, cause: options.cause },
    );
  }
}

/** Details of a {@link NetioAddonUnavailableError}. */
export type NetioAddonUnavailableDetails = {
  /** Why the addon is unavailable: no binary for the platform, a load error, not Linux. */
  readonly reason: string;
};

/**
 * `NETIO_ADDON_UNAVAILABLE`: the native addon cannot load here; raised only when a raw or packet socket (or
 * an rtnetlink address change) is asked for.
 */
export class NetioAddonUnavailableError extends NetioError<NetioAddonUnavailableDetails> {
  /**
   * @param reason - why the addon is unavailable
   * @param options - the underlying error
   */
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(
      'NETIO_ADDON_UNAVAILABLE',
      `the @proxyha/netio native addon is unavailable (${reason}); raw IP and packet sockets need it. ` +
        'Prebuilt binaries ship for linux-x64 and linux-arm64 (glibc); elsewhere install python3, make and g++ ' +
        'and run `npm rebuild @proxyha/netio` (or `pnpm rebuild @proxyha/netio`); without it use a non-raw ' +
        'transport or MemoryNetwork.',
      { details: { reason }, cause: options.cause },
    );
  }
}

/** Details of a {@link NetioUnknownInterfaceError}. */
export type NetioUnknownInterfaceDetails = {
  /** The name that was looked up. */
  readonly interface: string;
};

/** `NETIO_UNKNOWN_INTERFACE`: no interface of that name exists (in this network namespace). */
export class NetioUnknownInterfaceError extends NetioError<NetioUnknownInterfaceDetails> {
  /**
   * @param name - the interface name that was looked up
   * @param options - the underlying error
   */
  constructor(name: string, options: { cause?: unknown } = {}) {
    super('NETIO_UNKNOWN_INTERFACE', `unknown network interface "${name}" (see \`ip link\`)`, {
      details: { interface: name },
      cause: options.cause,
    });
  }
}

/** Details of a {@link NetioInvalidArgumentError}. */
export type NetioInvalidArgumentDetails = {
  /** The argument's name, e.g. `options.ttl`. */
  readonly argument: string;
  /** The offending value. */
  readonly value: unknown;
  /** What would be valid, e.g. `an integer 1..255`. */
  readonly expected: string;
};

/** `NETIO_INVALID_ARGUMENT`: an argument is malformed or out of range; raised before any system call. */
export class NetioInvalidArgumentError extends NetioError<NetioInvalidArgumentDetails> {
  /**
   * @param argument - argument path, such as `options.ttl`
   * @param value - the offending value
   * @param expected - what would be valid
   */
  constructor(argument: string, value: unknown, expected: string) {
    super('NETIO_INVALID_ARGUMENT', `invalid ${argument}: ${describe(value)} (expected ${expected})`, {
      details: { argument, value, expected },
    });
  }
}

/** Details of a {@link NetioSystemError}. */
export type NetioSystemDetails = {
  /** What was attempted, e.g. `send on raw IPv4 socket for protocol 112 on eth0`. */
  readonly operation: string;
  /** Symbolic errno, e.g. `ENETDOWN`. */
  readonly errno: string;
  /** The failing system call, e.g. `sendmsg`. */
  readonly syscall: string;
};

/** `NETIO_SYSTEM`: a system call failed for a reason other than permissions. */
export class NetioSystemError extends NetioError<NetioSystemDetails> {
  /**
   * @param operation - what was attempted
   * @param errno - symbolic errno, e.g. `EMSGSIZE`
   * @param syscall - the failing call
   * @param options - the underlying error
   */
  constructor(operation: string, errno: string, syscall: string, options: { cause?: unknown } = {}) {
    super('NETIO_SYSTEM', `${operation}: ${syscall} failed with ${errno}`, {
      details: { operation, errno, syscall },
      cause: options.cause,
    });
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

/** The `NETIO_CLOSED` error for use after close. */
export function closedError(operation: string): NetioError<{ readonly operation: string }> {
  return new NetioError('NETIO_CLOSED', `${operation}: the socket is closed`, { details: { operation } });
}

/** The `NETIO_BROADCAST_NOT_ENABLED` error. */
export function broadcastError(
  operation: string,
  destination: string,
): NetioError<{ readonly operation: string; readonly destination: string }> {
  return new NetioError(
    'NETIO_BROADCAST_NOT_ENABLED',
    `${operation}: sending to broadcast address ${destination} needs the socket option broadcast: true (SO_BROADCAST)`,
    { details: { operation, destination } },
  );
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
