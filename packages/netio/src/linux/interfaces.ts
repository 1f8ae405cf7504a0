import { readdir, readFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { canonicalIp, canonicalMac } from '@proxyha/common';
import { fromNative, NetioError, NetioSystemError } from '../errors';
import type { InterfaceEvent, InterfaceInfo, InterfaceWatcher, WatchOptions } from '../types';
import { type Addon, type AddonLoader, KIND, type NativeSocket } from './addon';
import {
  type AddressRecord,
  assemble,
  dumpRequest,
  type LinkRecord,
  NL,
  parseAddress,
  parseLink,
} from './netlink';
import { netlinkErrno, rtnetlinkExchange } from './rtnetlink';

/** Lists interfaces with two rtnetlink dumps (RTM_GETLINK, RTM_GETADDR); no privilege needed. */
export async function netlinkInterfaces(addon: Addon): Promise<InterfaceInfo[]> {
  let socket: NativeSocket;
  try {
    socket = new addon.Socket(KIND.netlink, 0);
    socket.bindNetlink(0);
  } catch (error) {
    throw fromNative(error, 'open rtnetlink socket', 'CAP_NET_ADMIN');
  }
  try {
    const links: LinkRecord[] = [];
    const addresses: AddressRecord[] = [];
    await dump(socket, NL.RTM_GETLINK, (body) => {
      const link = parseLink(body);
      if (link) links.push(link);
    });
    await dump(socket, NL.RTM_GETADDR, (body) => {
      const addr = parseAddress(body);
      if (addr) addresses.push(addr);
    });
    return assemble(links, addresses);
  } finally {
    socket.close();
  }
}

function dump(socket: NativeSocket, type: number, onMessage: (body: Buffer) => void): Promise<void> {
  return rtnetlinkExchange(
    socket,
    (seq) => dumpRequest(type, seq),
    'rtnetlink dump',
    (msg) => {
      if (msg.type === NL.NLMSG_DONE) return 'done';
      if (msg.type === NL.NLMSG_ERROR) {
        const code = netlinkErrno(msg, true);
        return code === 0 ? undefined : new NetioSystemError('rtnetlink dump', `errno ${code}`, 'recvmsg');
      }
      onMessage(msg.body);
      return undefined;
    },
  );
}

/**
 * Fallback without the addon: /sys/class/net plus os.networkInterfaces(). Note that /sys shows the
 * network namespace it was mounted in (correct under `ip netns exec`, which remounts it).
 */
export async function sysfsInterfaces(): Promise<InterfaceInfo[]> {
  const names = await readdir('/sys/class/net').catch(() => [] as string[]);
  const os = networkInterfaces();
  const out: InterfaceInfo[] = [];
  for (const name of names) {
    const read = (f: string) =>
      readFile(`/sys/class/net/${name}/${f}`, 'utf8').then(
        (s) => s.trim(),
        () => '',
      );
    const [index, mac, mtu, flags] = await Promise.all([
      read('ifindex'),
      read('address'),
      read('mtu'),
      read('flags'),
    ]);
    if (!index) continue;
    const f = Number.parseInt(flags || '0', 16);
    const addrs = os[name] ?? [];
    const toAddr = (a: (typeof addrs)[number]) => ({
      address: canonicalIp(a.address.replace(/%.*$/, '')) ?? a.address,
      prefixLength: Number((a.cidr ?? '/0').split('/')[1]),
    });
    out.push({
      name,
      index: Number(index),
      mac: canonicalMac(mac) ?? '00:00:00:00:00:00',
      mtu: Number(mtu) || 0,
      up: (f & 0x1) !== 0,
      running: (f & 0x40) !== 0,
      ipv4: addrs.filter((a) => a.family === 'IPv4').map(toAddr),
      ipv6: addrs.filter((a) => a.family === 'IPv6').map(toAddr),
    });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Lists interfaces through netlink when the addon is there, else through sysfs. */
export function listInterfaces(loader: AddonLoader): Promise<InterfaceInfo[]> {
  const state = loader();
  return state.available ? netlinkInterfaces(state.addon) : sysfsInterfaces();
}

/** Computes change events between two snapshots (matched by index). */
export function diffInterfaces(before: InterfaceInfo[], after: InterfaceInfo[]): InterfaceEvent[] {
  const events: InterfaceEvent[] = [];
  const old = new Map(before.map((i) => [i.index, i]));
  for (const info of after) {
    const previous = old.get(info.index);
    old.delete(info.index);
    if (!previous) events.push({ type: 'added', interface: info });
    else if (JSON.stringify(normalize(previous)) !== JSON.stringify(normalize(info))) {
      events.push({ type: 'changed', interface: info, previous });
    }
  }
  for (const gone of old.values()) events.push({ type: 'removed', interface: gone });
  return events;
}

function normalize(info: InterfaceInfo): InterfaceInfo {
  const key = (a: { address: string; prefixLength: number }) => `${a.address}/${a.prefixLength}`;
  // any fixed order will do (it only makes two listings comparable): code units, not localeCompare,
  // which would load ICU's collation data into every process that watches interfaces
  const order = (
    a: { address: string; prefixLength: number },
    b: { address: string; prefixLength: number },
  ) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  return { ...info, ipv4: [...info.ipv4].sort(order), ipv6: [...info.ipv6].sort(order) };
}

/**
 * Watches interfaces: with the addon, an rtnetlink socket subscribed to RTMGRP_LINK,
 * RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR triggers a (coalesced) re-list; without it, polling.
 */
export function watchLinuxInterfaces(
  loader: AddonLoader,
  listener: (event: InterfaceEvent) => void,
  options: WatchOptions = {},
): InterfaceWatcher {
  const state = loader();
  let closed = false;
  let snapshot: InterfaceInfo[] = [];
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let events: NativeSocket | undefined;

  const report = (error: unknown) => {
    const e = error instanceof NetioError ? error : fromNative(error, 'watch interfaces', 'CAP_NET_ADMIN');
    options.onError?.(e);
  };
  const refresh = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const next = await listInterfaces(loader);
        if (closed) return;
        const changes = diffInterfaces(snapshot, next);
        snapshot = next;
        for (const event of changes) listener(event);
      } while (again && !closed);
    } catch (error) {
      report(error);
    } finally {
      running = false;
    }
  };
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void refresh();
    }, 5);
  };

  let mode: 'netlink' | 'poll' = 'poll';
  if (state.available) {
    try {
      events = new state.addon.Socket(KIND.netlink, 0);
      events.bindNetlink(NL.RTMGRP_LINK | NL.RTMGRP_IPV4_IFADDR | NL.RTMGRP_IPV6_IFADDR);
      mode = 'netlink';
    } catch {
      events?.close();
      events = undefined;
    }
  }
  const ready = listInterfaces(loader).then(
    (list) => {
      snapshot = list;
      if (closed) return;
      if (events) {
        events.startReading(schedule, report);
        void refresh(); // catch changes made between the baseline and the subscription
      } else {
        const every = options.pollIntervalMs ?? 1000;
        const poll = () => {
          if (closed) return;
          void refresh().finally(() => {
            if (!closed) timer = setTimeout(poll, every);
          });
        };
        timer = setTimeout(poll, every);
      }
    },
    (error) => {
      report(error);
      throw error;
    },
  );
  ready.catch(() => {});
  return {
    ready,
    mode,
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      events?.close();
    },
  };
}
