#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command } from 'commander';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('proxyha')
  .description(
    'proxyha gateway node. The node commands arrive with the gateway issue; until then use\n' +
      'proxyha-vrrpd (@proxyha/vrrpd), proxyha-mon (@proxyha/health-mon) and proxyha-ntp (@proxyha/ntp-check).',
  )
  .version(version);

program.parse();
