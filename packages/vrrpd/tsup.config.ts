import { packageBuild } from '../../tsup.base';

// `cli` (the bin) imports the library by the package's own name: kept external, so both share one copy.
export default packageBuild({ index: 'src/index.ts', cli: 'src/bin.ts' }, { external: ['@proxyha/vrrpd'] });
