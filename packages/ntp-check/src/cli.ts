#!/usr/bin/env node
import { runCli } from '@proxyha/common/cli';
import { main } from './cli/main';

void runCli('proxyha-ntp', main);
