// proxyha: the gateway's command line. Each command is one small module loaded when it runs; `main` only
// parses and dispatches, so that later commands (run, status, mon, policy, cm, maintenance,
// import-keepalived) are one more `command(...)` each.
import type { CliIo } from '@proxyha/common/cli';
import { Command } from 'commander';
import { version } from '../../package.json';

/** The configuration file when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = '/etc/proxyha/proxyha.yaml';

/**
 * The body of `proxyha`: parses `argv` (the arguments after the program name), runs the command and returns
 * its exit status (0 ok, 1 failed at run time, 2 bad usage or an invalid configuration). Commander's own
 * messages (usage, `--help`, `--version`) go to `io`; other errors are thrown for `runCli` to print.
 *
 * @param argv - the arguments, without `node` and the script
 * @param io - where to write
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let status = 0;
  const program = new Command()
    .name('proxyha')
    .description(
      'The proxyha gateway node: VRRP director election, load sharing across the\n' +
        'proxies, port health monitor, central management and time-skew guard,\n' +
        'from one configuration file.\n' +
        'Exit status: 0 ok, 1 failed, 2 bad usage or an invalid configuration.',
    )
    .version(version)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(run proxyha --help for usage)');

  program
    .command('check')
    .description('validate the configuration file and exit, without running anything (as keepalived -t)')
    .option('-c, --config <file>', 'the YAML configuration file', DEFAULT_CONFIG_FILE)
    .action(async (opts: { config: string }) => {
      status = await (await import('./check')).checkCommand(opts.config, io);
    });

  await program.parseAsync([...argv], { from: 'user' });
  return status;
}
