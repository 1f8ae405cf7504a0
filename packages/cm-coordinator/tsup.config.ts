import { packageBuild } from '../../tsup.base';

// `sim` and `cli` (the bin) import the main entry by the package's own name: kept external, so all share
// one copy of the machine. better-sqlite3 is an optional native dependency, loaded only when node:sqlite
// is missing (Node 20).
export default packageBuild(
  { index: 'src/index.ts', sim: 'src/sim/index.ts', cli: 'src/bin.ts' },
  { external: ['@proxyha/cm-coordinator', 'better-sqlite3'] },
);
