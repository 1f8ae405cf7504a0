import { NetioUnknownInterfaceError } from '../errors';
import type { NetworkStack } from '../types';
import { checkCidr, checkInterfaceName, resolveIpOptions, resolvePacketOptions } from '../validate';
import { type AddonLoader, requireAddon } from './addon';
import { changeAddress } from './addresses';
import { listInterfaces, watchLinuxInterfaces } from './interfaces';
import { openLinuxIpSocket, openLinuxPacketSocket } from './sockets';

/**
 * The Linux NetworkStack over an addon loader. Order of checks when opening: arguments, then the
 * addon, then the interface name (if_nametoindex), and only then socket().
 */
export function createLinuxStack(loader: AddonLoader): NetworkStack {
  return {
    async openIpSocket(options) {
      const resolved = resolveIpOptions(options);
      return openLinuxIpSocket(requireAddon(loader), resolved);
    },
    async openPacketSocket(options) {
      const resolved = resolvePacketOptions(options);
      return openLinuxPacketSocket(requireAddon(loader), resolved);
    },
    interfaces() {
      return listInterfaces(loader);
    },
    async interfaceInfo(name) {
      checkInterfaceName('name', name);
      const found = (await listInterfaces(loader)).find((i) => i.name === name);
      if (!found) throw new NetioUnknownInterfaceError(name);
      return found;
    },
    watchInterfaces(listener, options) {
      return watchLinuxInterfaces(loader, listener, options);
    },
    async addAddress(ifname, cidr) {
      await changeLinuxAddress(loader, 'add', ifname, cidr);
    },
    async removeAddress(ifname, cidr) {
      await changeLinuxAddress(loader, 'remove', ifname, cidr);
    },
  };
}

function changeLinuxAddress(loader: AddonLoader, op: 'add' | 'remove', ifname: string, cidr: string) {
  checkInterfaceName('ifname', ifname);
  return changeAddress(requireAddon(loader), op, ifname, checkCidr('cidr', cidr));
}
