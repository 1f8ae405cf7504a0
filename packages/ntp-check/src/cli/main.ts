// proxyha-ntp: query NTP servers and judge this host's clock.
// Exit codes: 0 ok (or warn), 1 the verdict is fail, 2 bad arguments.
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, printJson, usageError } from '@proxyha/common/cli';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseServerAddress } from '../address';
import { checkSkew } from '../driver/check-skew';
import { checkDuration, type DurationRule } from '../driver/options';
import { formatReport, reportToJson } from './format';

function durationOption(
  flags: string,
  description: string,
  rule: DurationRule,
  fallback?: { value: number; shown: string },
): Option {
  const name = flags.split(' ')[0] as string;
  const option = new Option(flags, description).argParser((value: string): number => {
    const r = checkDuration(value, rule);
    if (!r.ok) throw new InvalidArgumentError(`${name} ${r.error}.`);
    return r.value;
  });
  return fallback ? option.default(fallback.value, fallback.shown) : option;
}

/**
 * The body of `proxyha-ntp`: parses `argv` (the arguments after the program name), queries the servers,
 * prints the table or the `--json` document to `io.stdout` and returns the exit status: 0 for `ok` or
 * `warn`, 1 for `fail`, 2 for bad arguments (commander's own errors are printed to `io.stderr`; other
 * usage errors are thrown as `COMMON_USAGE` for `runCli` to print).
 *
 * @param argv - the arguments, without `node` and the script
 * @param io - where to write
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = new Command()
    .name('proxyha-ntp')
    .description(
      'Query NTP servers (SNTPv4, strict RFC 4330/5905 checks), reject falsetickers and judge the local clock.\n' +
        "Exit status: 0 ok or warn, 1 fail (unsynchronized server, Kiss-o'-Death, forged reply, offset too high), 2 bad arguments.",
    )
    .argument('<server...>', 'NTP servers as SERVER[:PORT] (port 123 by default; IPv6 as [addr]:port)')
    .option('--json', 'print one JSON document instead of the table')
    .addOption(
      durationOption(
        '--max-offset <duration>',
        'largest tolerated offset of the local clock',
        { positive: true },
        {
          value: 1000,
          shown: '1s',
        },
      ),
    )
    .addOption(
      durationOption(
        '--warn-offset <duration>',
        'warn above this offset (default: half of --max-offset)',
        {},
      ),
    )
    .addOption(
      durationOption(
        '--panic-threshold <duration>',
        'beyond this offset the clock must be set by hand',
        { positive: true },
        { value: 1e6, shown: '1000s' },
      ),
    )
    .addOption(
      durationOption(
        '--timeout <duration>',
        'how long to wait for each server',
        { min: 1, max: 60_000 },
        { value: 2000, shown: '2s' },
      ),
    )
    .addOption(
      durationOption(
        '--max-root-distance <duration>',
        'reject servers with a larger root distance',
        { min: 1, max: 16_000 },
        { value: 1500, shown: '1.5s' },
      ),
    )
    .showHelpAfterError('(run proxyha-ntp --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    throw e;
  }
  const opts = program.opts<{
    json?: boolean;
    maxOffset: number;
    warnOffset?: number;
    panicThreshold: number;
    timeout: number;
    maxRootDistance: number;
  }>();
  const servers = program.processedArgs[0] as string[];
  for (const s of servers) {
    const p = parseServerAddress(s);
    if (!p.ok) usageError(p.error.message);
  }
  if (opts.warnOffset !== undefined && opts.warnOffset > opts.maxOffset) {
    usageError('--warn-offset must not exceed --max-offset');
  }
  if (opts.panicThreshold < opts.maxOffset) usageError('--panic-threshold must not be below --max-offset');

  const report = await checkSkew({
    servers,
    maxOffset: opts.maxOffset,
    ...(opts.warnOffset !== undefined ? { warnOffset: opts.warnOffset } : {}),
    panicThreshold: opts.panicThreshold,
    timeout: opts.timeout,
    maxRootDistance: opts.maxRootDistance,
  });
  if (opts.json) printJson(io, reportToJson(report));
  else io.stdout.write(formatReport(report));
  return report.verdict === 'fail' ? EXIT_FAILURE : EXIT_OK;
}
