// `proxyha run`: the node in the foreground until SIGTERM or SIGINT; SIGHUP re-reads the configuration.
import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import type { LogLevel } from '@proxyha/common';
import { type CliIo, EXIT_OK } from '@proxyha/common/cli';
import { version } from '../../package.json';
import { loadGatewayConfig } from '../config/config';
import { createGatewayLogger } from '../log/logger';
import { GatewayNode, type GatewayNodeOptions } from '../node/node';

/** The signals `proxyha run` listens to (the process; tests pass an emitter). */
export interface RunSignals {
  /** SIGTERM, SIGINT: stop. */
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  /** SIGHUP: reload. */
  on(signal: 'SIGHUP', listener: () => void): unknown;
}

/** Options of `proxyha run`. */
export interface RunOptions {
  /** `text` (default: the familiar lines) or `json` (pino, one object per line). */
  readonly logFormat?: 'text' | 'json';
  /** `debug`, `info` (default), `warn` or `error`. */
  readonly logLevel?: LogLevel;
  /** Signals (default the process). */
  readonly signals?: RunSignals;
  /** Injected parts (tests). */
  readonly node?: GatewayNodeOptions;
  /** Called once the node runs (tests). */
  readonly onStarted?: (node: GatewayNode) => void;
}

/**
 * Where the log goes: the process's stdout as file descriptor 1, written synchronously (no line is lost at
 * exit, as the package daemons write it); any other stream of `io` (a buffer in tests, which has nothing but
 * `write`) through a Writable, which the text format's pretty-printer needs.
 */
function logDestination(io: CliIo): NodeJS.WritableStream | number {
  const out = io.stdout;
  if (out === process.stdout) return 1;
  if (out instanceof Writable) return out;
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      out.write(String(chunk));
      done();
    },
  });
}

/**
 * Runs the node of `file` until SIGTERM or SIGINT and returns 0. An invalid configuration throws
 * `GATEWAY_CONFIG_INVALID` before anything starts (exit 2); a part that cannot start throws
 * `GATEWAY_START_FAILED` after stopping the others (exit 1). SIGHUP re-reads the file: an invalid one is
 * logged with every bad path and the running configuration stays.
 */
export async function runCommand(file: string, io: CliIo, options: RunOptions = {}): Promise<number> {
  const config = await loadGatewayConfig(file);
  // V8 drops the bytecode of functions that have not run for a while: a backup that only received adverts
  // would compile its takeover again during it (see proxyha-vrrpd)
  setFlagsFromString('--no-flush-bytecode');
  const log = createGatewayLogger({
    format: options.logFormat ?? 'text',
    level: options.logLevel ?? 'info',
    destination: logDestination(io),
  });
  const signals = options.signals ?? process;
  const stopped = new Promise<string>((resolve) => {
    signals.once('SIGTERM', () => resolve('SIGTERM'));
    signals.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(`Starting proxyha v${version} (${config.node.name}, configuration ${file})`);
  const node = new GatewayNode(config, { ...options.node, logger: log, configFile: file });
  // SIGHUP is taken from the start on (the process's default action would end it); a reload asked for
  // while the node starts runs once it has started, none after a failed start
  const starting = node.start();
  const ready = starting.then(
    () => true,
    () => false,
  );
  let reloads = Promise.resolve();
  signals.on('SIGHUP', () => {
    reloads = reloads.then(async () => {
      if (!(await ready)) return;
      log.info(`Reloading ${file}`);
      try {
        const next = await loadGatewayConfig(file);
        const pending = await node.reload(next);
        log.info(
          `Reload finished${pending.length > 0 ? ` (${pending.length} change(s) wait for a restart)` : ''}`,
        );
      } catch (e) {
        log.error(`Reload refused, the running configuration stays: ${(e as Error).message}`);
      }
    });
  });
  await starting;
  options.onStarted?.(node);
  const signal = await stopped;
  log.info(`Stopping (${signal})`);
  await reloads;
  await node.stop();
  log.info('Stopped');
  return EXIT_OK;
}
