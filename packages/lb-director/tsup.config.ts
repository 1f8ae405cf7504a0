import { packageBuild } from '../../tsup.base';

// `sim` and `cli` (the bin) import the main entry by the package's own name: kept external, so all
// share one copy of the machines.
export default packageBuild(
  { index: 'src/index.ts', sim: 'src/sim/index.ts', cli: 'src/bin.ts' },
  { external: ['@proxyha/lb-director'] },
);
