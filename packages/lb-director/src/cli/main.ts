// proxyha-lb: run a director group node (`--config FILE`), or show the running node's status (`-s`).
import { type CliIo, createLogger, EXIT_OK, printJson } from '@proxyha/common/cli';
import { Command } from 'commander';
import { version } from '../../package.json';
import { loadLbDaemonConfig } from '../config/config';
import { LbDaemon } from '../driver/daemon';
import { formatStatus, readStatus, statusDocument, statusSocketPath } from '../driver/status';

/** What `main` needs from the process: its signals (tests pass an emitter). */
export interface ProcessSignals {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
}

/**
 * The body of `proxyha-lb`: validates the config (exit 2 naming every bad path); `-t` stops there;
 * `-s` prints the running daemon's status (text like `mfend-lb -s`, or one JSON document with `--json`);
 * otherwise runs the node until SIGTERM or SIGINT.
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  signals: ProcessSignals = process,
): Promise<number> {
  const program = new Command()
    .name('proxyha-lb')
    .description(
      'director group node: discovery and load reports on IP protocol 253, membership, source-sticky load-aware scheduling',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('-s, --status', "show the running node's status (as mfend-lb -s)")
    .option('--json', 'with -s: one JSON document; otherwise: JSON log lines')
    .option('-D, --log-detail', 'debug log lines')
    .option('-t, --config-test', 'check the configuration and exit')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    config: string;
    status?: boolean;
    json?: boolean;
    logDetail?: boolean;
    configTest?: boolean;
  }>();

  const config = await loadLbDaemonConfig(opts.config);
  if (opts.configTest) {
    io.stdout.write(
      `${opts.config}: configuration OK (group ${config.group}, ${config.redirects.length} redirect(s))\n`,
    );
    return EXIT_OK;
  }
  if (opts.status) {
    const status = await readStatus(statusSocketPath(config.dataDir));
    if (opts.json) printJson(io, statusDocument(status));
    else io.stdout.write(formatStatus(status));
    return EXIT_OK;
  }
  const log = createLogger({ json: opts.json === true, level: opts.logDetail ? 'debug' : 'info' });
  const daemon = new LbDaemon(config, { logger: log, softwareVersion: version });
  const stopped = new Promise<string>((resolve) => {
    signals.once('SIGTERM', () => resolve('SIGTERM'));
    signals.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info(`Starting proxyha-lb v${version}`);
  try {
    await daemon.start();
  } catch (e) {
    log.error((e as Error).message);
    await daemon.stop().catch(() => {});
    throw e;
  }
  const signal = await stopped;
  log.info(`Stopping (${signal})`);
  await daemon.stop();
  log.info('Stopped');
  return EXIT_OK;
}
