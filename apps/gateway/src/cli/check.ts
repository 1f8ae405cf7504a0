// `proxyha check`: validate the configuration file without running (as `keepalived -t`).

import { formatEndpoint } from '@proxyha/cm-coordinator';
import { formatDuration } from '@proxyha/common';
import { type CliIo, EXIT_OK } from '@proxyha/common/cli';
import { loadGatewayConfig } from '../config/config';
import type { GatewayConfig } from '../config/types';

/**
 * Validates `file`: prints `FILE: configuration OK` and a summary of what the node will run, and returns 0.
 * An invalid file throws `GATEWAY_CONFIG_INVALID` (every issue on its path), an unreadable one or bad YAML
 * `COMMON_CONFIG_READ` (with the line): `runCli` prints either and exits 2.
 */
export async function checkCommand(file: string, io: CliIo): Promise<number> {
  const config = await loadGatewayConfig(file);
  io.stdout.write(`${file}: configuration OK\n${summary(config).join('\n')}\n`);
  return EXIT_OK;
}

/** The lines of the summary, `  label:  what`. */
export function summary(c: GatewayConfig): string[] {
  const inst = c.vrrpd.instances[0];
  const rows: [string, string][] = [['node', `${c.node.name} (data in ${c.node.dataDir})`]];
  if (inst) {
    const failure = c.healthTracker.onFailure === 'fault' ? 'fault' : `weight ${c.healthTracker.weight}`;
    rows.push(
      [
        'vrrp',
        `${inst.name} on ${inst.interface}, VRID ${inst.vrid}, priority ${inst.priority}, ` +
          `advert ${formatDuration(inst.advertInterval)}, version ${inst.version}, ${c.vrrpd.transport} transport; ` +
          `on health failure: ${failure}`,
      ],
      ['VIPs', inst.virtualIps.join(', ')],
    );
  }
  rows.push(
    ['redirects', c.lb.redirects.map((r) => `${r.originalPort} -> ${r.destinationPort}`).join(', ')],
    ['data plane', `${c.lb.dataPlane}, group ${c.lb.group}, weight ${c.lb.weight}`],
    [
      'health',
      `port${c.health.ports.length > 1 ? 's' : ''} ${c.health.ports.map((p) => p.port).join(', ')} on ${c.health.host}, ` +
        `every ${formatDuration(c.health.intervalMs)}, fall ${c.health.fall}, rise ${c.health.rise}`,
    ],
    [
      'ntp',
      c.ntp
        ? `${c.ntp.servers.map((s) => formatEndpoint(s)).join(', ')}, max offset ${formatDuration(c.ntp.maxOffsetMs)}`
        : 'off',
    ],
    [
      'cm',
      c.cm
        ? `listen ${formatEndpoint(c.cm.listen)}, priority ${c.cm.priority}, ` +
          `peers ${c.cm.peers.length > 0 ? c.cm.peers.map(formatEndpoint).join(', ') : 'none'}`
        : 'off',
    ],
  );
  if (c.cm)
    rows.push([
      'policy',
      `${c.cm.policyDir}${c.cm.applyCommand ? `, then ${c.cm.applyCommand.join(' ')}` : ''}`,
    ]);
  rows.push([
    'management',
    `${c.management.tls ? 'https' : 'http'}://${formatEndpoint(c.management.listen)} (token ${c.management.tokenFile})`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `  ${`${k}:`.padEnd(width)}  ${v}`);
}
