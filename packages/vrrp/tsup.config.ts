import { packageBuild } from '../../tsup.base';

// `sim` imports the main entry by the package's own name: kept external, so both share one VrrpMachine.
export default packageBuild(
  { index: 'src/index.ts', sim: 'src/sim/index.ts' },
  { external: ['@proxyha/vrrp'] },
);
