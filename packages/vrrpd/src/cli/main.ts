// proxyha-vrrpd: the command line (flags and config file format as before the package split).
import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { type Logger, systemClock } from '@proxyha/common';
import { type CliIo, createLogger, EXIT_OK } from '@proxyha/common/cli';
import { LinuxMacvlanManager, linuxStack } from '@proxyha/netio';
import { Command } from 'commander';
import { version } from '../../package.json';
import { loadVrrpDaemonConfig, type VrrpDaemonConfig, vmacOf } from '../config/config';
import { createAnnouncer } from '../daemon/announce';
import { VrrpDaemon } from '../daemon/daemon';

/** What `main` needs from the process: its signals (tests pass an emitter). */
export interface ProcessSignals {
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  on(signal: 'SIGUSR2' | 'SIGHUP', listener: () => void): unknown;
}

/**
 * The body of `proxyha-vrrpd`: validates the config (exit 2 naming every bad path), with `-t` stops there
 * (exit 0), otherwise runs the daemon until SIGTERM or SIGINT (a master sends priority 0 and removes its
 * VIPs) and resolves with 0; SIGUSR2 logs one statistics line per instance; SIGHUP re-reads the file and
 * applies the difference (`VrrpDaemon.reload`; an invalid file is refused and the running one stays).
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  signals: ProcessSignals = process,
): Promise<number> {
  const program = new Command()
    .name('proxyha-vrrpd')
    .description(
      'VRRP v2/v3 daemon (RFC 3768, RFC 5798, RFC 9568) that interoperates with keepalived and FRR',
    )
    .option('-f, --config <file>', 'YAML configuration file (required, except with --import-keepalived)')
    .option(
      '--import-keepalived <file>',
      'print the proxyha-vrrpd YAML equivalent of a keepalived.conf; list what has no equivalent on stderr',
    )
    .option(
      '--config-id <id>',
      "keepalived's -i for @id lines of the import (default: the host name's first part)",
    )
    .option('--json', 'log JSON lines instead of text')
    .option('-D, --log-detail', 'detailed log messages (as keepalived -D)')
    .option('-t, --config-test', 'check the configuration and exit')
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{
    config: string;
    json?: boolean;
    logDetail?: boolean;
    configTest?: boolean;
    importKeepalived?: string;
    configId?: string;
  }>();
  // the import is loaded only when asked for: the daemon's start does not pay for it
  if (opts.importKeepalived !== undefined)
    return (await import('../import/cli')).importKeepalivedCommand(opts.importKeepalived, opts.configId, io);
  if (opts.config === undefined)
    program.error("error: required option '-f, --config <file>' not specified", {
      code: 'commander.missingMandatoryOptionValue',
    });

  const config = await loadVrrpDaemonConfig(opts.config);
  if (opts.configTest) {
    io.stdout.write(`${opts.config}: configuration OK (${config.instances.length} instance(s))\n`);
    return EXIT_OK;
  }
  // V8 drops the bytecode of functions that have not run for a few major garbage collections
  // (--bytecode-old-age, 5): a backup that only received adverts for a while would compile its takeover
  // again during it, undoing VrrpRouter.warmUp. Keeping it costs a few MB at most.
  setFlagsFromString('--no-flush-bytecode');
  const log = createLogger({ json: opts.json === true, level: opts.logDetail ? 'debug' : 'info' });
  // gratuitous ARP / NA after every VIP move, when the VIPs are real (not the loopback demo)
  const announcer =
    config.transport === 'raw' ? createAnnouncer(linuxStack, log, config, systemClock) : undefined;
  // virtual MACs (use_vmac): private-mode macvlans through @proxyha/netio (also for a reload that adds one)
  const vmacs = config.transport === 'raw' ? new LinuxMacvlanManager() : undefined;
  const daemon = new VrrpDaemon(config, {
    logger: log,
    ...(announcer ? { announce: announcer.hook, onTransition: announcer.onTransition } : {}),
    ...(vmacs ? { vmacs } : {}),
  });
  const stopped = new Promise<string>((resolve) => {
    signals.once('SIGTERM', () => resolve('SIGTERM'));
    signals.once('SIGINT', () => resolve('SIGINT'));
  });
  // keepalived writes its statistics on SIGUSR2: one line per instance here
  signals.on('SIGUSR2', () => {
    for (const [name, router] of daemon.routers) {
      const snap = router.snapshot();
      log.info(
        `(${name}) statistics ${JSON.stringify({
          state: snap.state,
          priority: snap.effectivePriority,
          master: snap.master,
          machine: snap.stats,
          received: router.rxStats.snapshot(),
        })}`,
      );
    }
    log.info(`Reload statistics ${JSON.stringify(daemon.reloadStats)}`);
  });
  // keepalived re-reads its configuration on SIGHUP: the daemon applies the difference, or refuses an
  // invalid file (logged with every bad path) and keeps running the old one
  signals.on('SIGHUP', () => {
    let loaded: VrrpDaemonConfig | undefined;
    const load = async () => {
      loaded = await loadVrrpDaemonConfig(opts.config);
      return loaded;
    };
    void daemon.reload(load, opts.config).then(async (r) => {
      if (r.ok && r.value.process.length > 0 && loaded) await applyScheduling(loaded, log);
    });
  });
  log.info(`Starting proxyha-vrrpd v${version}`);
  await applyScheduling(config, log);
  try {
    await daemon.start();
    // MAC look-ups and packet sockets ready before the first election ends (not on a VMAC: it is down
    // until Master, and a packet socket opened on it then loses its first frames)
    await announcer?.warm([...new Set(config.instances.filter((i) => !vmacOf(i)).map((i) => i.interface))]);
  } catch (e) {
    log.error((e as Error).message);
    await daemon.stop().catch(() => {});
    await announcer?.close();
    throw e;
  }
  const signal = await stopped;
  // priority 0 goes out synchronously inside stop(): before the log line, not after it
  const stopping = daemon.stop();
  log.info(`Stopping (${signal})`);
  await stopping;
  await announcer?.close();
  log.info('Stopped');
  return EXIT_OK;
}

/** keepalived's vrrp_rt_priority / vrrp_priority for this process; failures are logged, not fatal. */
async function applyScheduling(config: Pick<VrrpDaemonConfig, 'realtimePriority' | 'nice'>, log: Logger) {
  if (config.nice !== undefined) {
    try {
      setPriority(config.nice);
    } catch (e) {
      log.warn(`cannot set nice ${config.nice}: ${(e as Error).message} (needs CAP_SYS_NICE)`);
    }
  }
  const rt = config.realtimePriority;
  if (rt === undefined) return;
  await new Promise<void>((resolve) =>
    execFile(
      'chrt',
      ['--rr', '--all-tasks', '--pid', String(rt), String(process.pid)],
      (err, _out, stderr) => {
        if (err)
          log.warn(
            `cannot set realtime priority ${rt}: ${String(stderr).trim() || err.message} (needs CAP_SYS_NICE)`,
          );
        else log.info(`Using realtime scheduling SCHED_RR priority ${rt}`);
        resolve();
      },
    ),
  );
}
