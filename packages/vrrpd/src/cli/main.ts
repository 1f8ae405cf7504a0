#!/usr/bin/env node
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { linuxStack } from '@proxyha/netio';
import { Command } from 'commander';
import pino from 'pino';
import pretty from 'pino-pretty';
import { loadAnnouncer, loadVmacManager } from './announce';
import { loadVrrpDaemonConfig, VrrpConfigError, vmacOf } from './daemon/config';
import { VrrpDaemon } from './daemon/daemon';
import type { VrrpLogger } from './driver/router';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('proxyha-vrrpd')
  .description('VRRP v2/v3 daemon (RFC 3768, RFC 5798, RFC 9568) that interoperates with keepalived and FRR')
  .requiredOption('-f, --config <file>', 'YAML configuration file')
  .option('--json', 'log JSON lines instead of text')
  .option('-D, --log-detail', 'detailed log messages (as keepalived -D)')
  .option('-t, --config-test', 'check the configuration and exit')
  .version(version)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program.parse();
const opts = program.opts<{ config: string; json?: boolean; logDetail?: boolean; configTest?: boolean }>();

function makeLogger(): VrrpLogger {
  const level = opts.logDetail ? 'debug' : 'info';
  const base = opts.json
    ? pino(
        { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
        pino.destination({ sync: true }),
      )
    : pino(
        { level },
        pretty({
          sync: true,
          colorize: false,
          translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
          ignore: 'pid,hostname',
          singleLine: true,
        }),
      );
  return {
    debug: (m) => base.debug(m),
    info: (m) => base.info(m),
    warn: (m) => base.warn(m),
    error: (m) => base.error(m),
  };
}

async function main() {
  let config: Awaited<ReturnType<typeof loadVrrpDaemonConfig>>;
  try {
    config = await loadVrrpDaemonConfig(opts.config);
  } catch (e) {
    if (e instanceof VrrpConfigError) {
      process.stderr.write(`proxyha-vrrpd: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (opts.configTest) {
    process.stdout.write(`${opts.config}: configuration OK (${config.instances.length} instance(s))\n`);
    return;
  }
  const log = makeLogger();
  // gratuitous ARP / NA after every VIP move, when the VIPs are real (not the loopback demo)
  const announcer = config.transport === 'raw' ? await loadAnnouncer(linuxStack, log, config) : undefined;
  // virtual MACs (use_vmac) through @proxyha/garp's macvlan manager
  const vmacs = config.instances.some((i) => vmacOf(i)) ? await loadVmacManager(log) : undefined;
  const daemon = new VrrpDaemon(config, {
    logger: log,
    ...(announcer ? { announce: announcer.hook, onTransition: announcer.onTransition } : {}),
    ...(vmacs ? { vmacs } : {}),
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // priority 0 goes out synchronously inside stop(): before the log line, not after it
    const stopped = daemon.stop();
    log.info(`Stopping (${signal})`);
    await stopped;
    await announcer?.close();
    log.info('Stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // keepalived writes its statistics on SIGUSR2: one line per instance here
  process.on('SIGUSR2', () => {
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
  });
  log.info(`Starting proxyha-vrrpd v${version}`);
  await applyScheduling(config, log);
  try {
    await daemon.start();
    // MAC look-ups and packet sockets ready before the first election ends (not on a VMAC:
    // it is down until Master, and a packet socket opened on it then loses its first frames)
    await announcer?.warm([...new Set(config.instances.filter((i) => !vmacOf(i)).map((i) => i.interface))]);
  } catch (e) {
    log.error((e as Error).message);
    await daemon.stop().catch(() => {});
    process.exit(e instanceof VrrpConfigError ? 2 : 1);
  }
}

/** keepalived's vrrp_rt_priority / vrrp_priority for this process; failures are logged, not fatal. */
async function applyScheduling(
  config: { realtimePriority?: number | undefined; nice?: number | undefined },
  log: VrrpLogger,
) {
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

void main();
