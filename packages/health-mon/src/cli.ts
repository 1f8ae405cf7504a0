#!/usr/bin/env node
// proxyha-mon
import { runMain } from './cli/main';

runMain();
