import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base';

export default defineConfig([
  packageBuild({ index: 'src/index.ts', cli: 'src/cli.ts' }),
  // What an installed node runs (bin/proxyha as /usr/bin/proxyha, scripts/install-gateway.sh): the same
  // CLI as one file with every dependency (netio's native addon is found in the installed package next
  // to it), white space and syntax minified. V8 keeps
  // the source text of every loaded module and a record per module file: one smaller file saves about
  // 10 MiB of an idle node's memory (bench/RESULTS.md, "The gateway node"). Identifiers are kept, so a
  // stack trace still names the functions.
  {
    entry: { proxyha: 'src/cli.ts' },
    format: ['esm'],
    outExtension: () => ({ js: '.mjs' }),
    target: 'node20',
    platform: 'node',
    splitting: false,
    sourcemap: false,
    dts: false,
    clean: false,
    noExternal: [/./],
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    keepNames: true,
    treeshake: false,
    // bundled CommonJS dependencies call require() for Node's built-in modules
    banner: {
      js: "import { createRequire as __proxyhaRequire } from 'node:module'; const require = __proxyhaRequire(import.meta.url);",
    },
    shims: true,
    // tsup writes UTF-8; one non-ASCII character (the status page has some) makes V8 keep the whole
    // 3 MB source as a two-byte string: escaped, it stays one byte per character (3 MiB less heap)
    // (the status page's script is a String.raw template, which esbuild cannot escape: it is ASCII itself)
    esbuildOptions(options) {
      options.charset = 'ascii';
      // license comments of the bundled packages go to dist/proxyha.mjs.LEGAL.txt
      options.legalComments = 'external';
    },
  },
]);
