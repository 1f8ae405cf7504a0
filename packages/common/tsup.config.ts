import { packageBuild } from '../../tsup.base';

// `cli` imports the main entry by the package's own name: kept external, so both share one CommonError.
export default packageBuild(
  { index: 'src/index.ts', cli: 'src/cli/index.ts' },
  { external: ['@proxyha/common'] },
);
