#!/usr/bin/env node
// proxyha-lb: see src/cli/main.ts. Exit codes: 0 stopped cleanly (or -t / -s ok), 1 failed at run time
// (or no daemon answers -s), 2 bad usage or an invalid configuration.
import { runCli } from '@proxyha/common/cli';
import { main } from './cli/main';

void runCli('proxyha-lb', main);
