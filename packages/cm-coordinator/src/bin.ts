#!/usr/bin/env node
// proxyha-cm: see src/cli/main.ts. Exit codes: 0 ok, 1 failed at run time (or no node answers the control
// socket), 2 bad usage or an invalid configuration.
import { runCli } from '@proxyha/common/cli';
import { main } from './cli/main';

void runCli('proxyha-cm', main);
