// proxyha: the gateway's command line. Each command is one small module loaded when it runs; `main` only
// parses and dispatches. The commands that talk to a running node (status, policy, cm, maintenance) go
// through its management API, found with the same configuration file the node runs with.
import type { LogLevel } from '@proxyha/common';
import type { CliIo } from '@proxyha/common/cli';
import { Argument, Command, Option } from 'commander';
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

  const configOption = () =>
    new Option('-c, --config <file>', 'the YAML configuration file of the node').default(DEFAULT_CONFIG_FILE);

  program
    .command('run')
    .description('run the node in the foreground until SIGTERM or SIGINT; SIGHUP re-reads the configuration')
    .addOption(configOption())
    .addOption(
      new Option('--log-format <format>', 'log lines: text (the familiar lines) or json')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addOption(
      new Option('--log-level <level>', 'lowest level logged')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .action(async (opts: { config: string; logFormat: 'text' | 'json'; logLevel: LogLevel }) => {
      status = await (await import('./run')).runCommand(opts.config, io, {
        logFormat: opts.logFormat,
        logLevel: opts.logLevel,
      });
    });

  program
    .command('status')
    .description(
      'show the running node: the director group (as mfend-lb -s), VRRP state, health per port, time offset, ' +
        'central-management sync, maintenance, and why the load may be uneven (exit 1: the node does not answer)',
    )
    .summary('show the running node (as mfend-lb -s, and more)')
    .addOption(configOption())
    .option('--json', 'print the status document (as GET /api/v1/status)')
    .action(async (opts: { config: string; json?: boolean }) => {
      status = await (await import('./status')).statusCommand(opts.config, { json: opts.json === true }, io);
    });

  program
    .command('mon')
    .description(
      'check every redirect destination port of the configuration once on the management address, as ' +
        'proxyha-mon -c (mwg-mon -v -c), without a running node: exit 0 all ok, 1 failure. Careful: -c here ' +
        'means check, as in mwg-mon; the configuration file is -f/--config',
    )
    .summary('check the redirect ports once, as proxyha-mon -c (-c is check; the file is -f)')
    .option(
      '-c, --check',
      'check every port once and exit (required: the running node monitors continuously)',
    )
    .option('-v, --verbose', 'list every port with its result and latency')
    .option('--json', 'print one JSON document')
    .option('-f, --config <file>', 'the YAML configuration file of the node', DEFAULT_CONFIG_FILE)
    .action(async (opts: { config: string; check?: boolean; verbose?: boolean; json?: boolean }) => {
      status = await (await import('./mon')).monCommand(
        opts.config,
        { check: opts.check === true, verbose: opts.verbose === true, json: opts.json === true },
        io,
      );
    });

  const policy = program
    .command('policy')
    .description('the policy central management replicates to every node');
  policy
    .command('save')
    .description('save a file (one document) or a directory (every file under it) as the new policy')
    .argument('<path>', 'the policy file or directory')
    .option('-m, --comment <text>', 'what changed')
    .addOption(configOption())
    .action(async (path: string, opts: { config: string; comment?: string }) => {
      status = await (await import('./policy')).policySaveCommand(
        opts.config,
        path,
        { comment: opts.comment },
        io,
      );
    });
  policy
    .command('show')
    .description('show the current policy: version, origin, Current Storage Timestamp, comment, documents')
    .option('--json', 'print the policy with its documents as JSON')
    .option('--out <dir>', 'also write the documents under this directory')
    .addOption(configOption())
    .action(async (opts: { config: string; json?: boolean; out?: string }) => {
      status = await (await import('./policy')).policyShowCommand(
        opts.config,
        { json: opts.json === true, out: opts.out },
        io,
      );
    });

  const cm = program.command('cm').description('central management');
  cm.command('status')
    .description(
      'every node with its Current Storage Timestamp, in sync or not, conflicts (as proxyha-cm status)',
    )
    .option('--json', 'print one JSON document')
    .addOption(configOption())
    .action(async (opts: { config: string; json?: boolean }) => {
      status = await (await import('./cm')).cmStatusCommand(opts.config, { json: opts.json === true }, io);
    });
  cm.command('add-node')
    .description('add the node at HOST[:PORT] (port 12346 by default) to the cluster: its policy is replaced')
    .argument('<address>', 'HOST[:PORT] of the node to add')
    .addOption(configOption())
    .action(async (address: string, opts: { config: string }) => {
      status = await (await import('./cm')).cmAddNodeCommand(opts.config, address, io);
    });

  program
    .command('maintenance')
    .description(
      'maintenance mode: on drains this node and hands the VIPs over, until turned off (it survives a restart)',
    )
    .addArgument(new Argument('<state>', 'on or off').choices(['on', 'off']))
    .addOption(configOption())
    .action(async (state: 'on' | 'off', opts: { config: string }) => {
      status = await (await import('./maintenance')).maintenanceCommand(opts.config, state === 'on', io);
    });

  program
    .command('import-keepalived')
    .description(
      "turn a keepalived.conf's vrrp_instance, vrrp_script and vrrp_sync_group blocks into this gateway's " +
        'configuration (YAML on stdout, or -o FILE); the settings without an equivalent and the placeholders ' +
        'to fill in are listed on stderr',
    )
    .summary("turn a keepalived.conf's VRRP blocks into this configuration")
    .argument('<keepalived.conf>', 'the keepalived configuration file')
    .option('-o, --output <file>', 'write the YAML to this file (it must not exist yet)')
    .option(
      '--config-id <id>',
      "keepalived's -i: @ID lines apply (default: the host name's first part, as keepalived)",
    )
    .action(async (file: string, opts: { output?: string; configId?: string }) => {
      status = await (await import('./import-keepalived')).importKeepalivedCommand(
        file,
        { out: opts.output, configId: opts.configId },
        io,
      );
    });

  await program.parseAsync([...argv], { from: 'user' });
  return status;
}
