#!/usr/bin/env node
// proxyha: see src/cli/main.ts. Exit codes: 0 ok, 1 failed at run time, 2 bad usage or an invalid
// configuration.
import { runCli } from '@proxyha/common/cli';
import { main } from './cli/main';

void runCli('proxyha', main);
