#!/usr/bin/env node
// a committed entry point, so that package managers can link the command before the build
import '../dist/cli.js';
