#!/usr/bin/env node
// The CLI arrives with this package's issue.
console.error('not implemented yet');
process.exitCode = 2;
