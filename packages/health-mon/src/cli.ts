#!/usr/bin/env node
// proxyha-mon: the process around the command's body (src/cli/main.ts).
import { runCli } from '@proxyha/common/cli';
import { main } from './cli/main';

void runCli('proxyha-mon', main);
