#!/usr/bin/env node
// proxyha-ntp: query NTP servers and judge this host's clock.
// Exit codes: 0 ok (or warn), 1 the verdict is fail, 2 bad arguments.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseServerAddress } from './address';
import { checkSkew } from './check-skew';
import { formatReport, reportToJson } from './format';
import { parseDurationMs } from './options';

const EXIT_OK = 0;
const EXIT_FAIL = 1;
const EXIT_USAGE = 2;

function duration(name: string) {
  return (value: string): number => {
    const out = parseDurationMs(value);
    if (out === undefined) throw new InvalidArgumentError(`${name} must be a duration like 500ms or 2s.`);
    return out;
  };
}

function durationOption(
  flags: string,
  description: string,
  value: number | undefined,
  shown: string,
): Option {
  const name = flags.split(' ')[0]!;
  const o = new Option(flags, description).argParser(duration(name));
  return value === undefined ? o.default(undefined, shown) : o.default(value, shown);
}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('proxyha-ntp')
    .description(
      'Query NTP servers (SNTPv4, strict RFC 4330/5905 checks), reject falsetickers and judge the local clock.\n' +
        "Exit status: 0 ok or warn, 1 fail (unsynchronized server, Kiss-o'-Death, forged reply, offset too high), 2 bad arguments.",
    )
    .argument('<server...>', 'NTP servers as SERVER[:PORT] (port 123 by default; IPv6 as [addr]:port)')
    .option('--json', 'print one JSON document instead of the table')
    .addOption(
      durationOption('--max-offset <duration>', 'largest tolerated offset of the local clock', 1000, '1s'),
    )
    .addOption(
      durationOption(
        '--warn-offset <duration>',
        'warn above this offset (default: half of --max-offset)',
        undefined,
        '',
      ),
    )
    .addOption(
      durationOption(
        '--panic-threshold <duration>',
        'beyond this offset the clock must be set by hand',
        1e6,
        '1000s',
      ),
    )
    .addOption(durationOption('--timeout <duration>', 'how long to wait for each server', 2000, '2s'))
    .addOption(
      durationOption(
        '--max-root-distance <duration>',
        'reject servers with a larger root distance',
        1500,
        '1.5s',
      ),
    )
    .showHelpAfterError('(run proxyha-ntp --help for usage)')
    .exitOverride();

  try {
    program.parse(argv, { from: 'node' });
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
  const usage = (message: string) => {
    process.stderr.write(`proxyha-ntp: ${message}\n`);
    return EXIT_USAGE;
  };
  for (const s of servers) {
    const p = parseServerAddress(s);
    if (!p.ok) return usage(p.error.message);
  }
  if (opts.maxOffset <= 0) return usage('--max-offset must be greater than 0');
  if (opts.timeout < 1 || opts.timeout > 60_000) return usage('--timeout must be between 1ms and 60s');
  if (opts.warnOffset !== undefined && opts.warnOffset > opts.maxOffset) {
    return usage('--warn-offset must not exceed --max-offset');
  }
  if (opts.panicThreshold < opts.maxOffset) return usage('--panic-threshold must not be below --max-offset');
  if (opts.maxRootDistance < 1 || opts.maxRootDistance > 16_000) {
    return usage('--max-root-distance must be between 1ms and 16s');
  }

  const report = await checkSkew({
    servers,
    maxOffset: opts.maxOffset,
    ...(opts.warnOffset !== undefined ? { warnOffset: opts.warnOffset } : {}),
    panicThreshold: opts.panicThreshold,
    timeout: opts.timeout,
    maxRootDistance: opts.maxRootDistance,
  });
  if (opts.json) process.stdout.write(`${JSON.stringify(reportToJson(report), null, 2)}\n`);
  else process.stdout.write(formatReport(report));
  return report.verdict === 'fail' ? EXIT_FAIL : EXIT_OK;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`proxyha-ntp: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = EXIT_FAIL;
  },
);
