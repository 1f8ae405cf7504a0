// `proxyha cm status [--json]`, `proxyha cm add-node HOST[:PORT]` and `proxyha maintenance on|off` against a
// real management server on 127.0.0.1 with the fake control.
import { CmError, formatCmStatus } from '@proxyha/cm-coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyha, startNode, stopAll } from './cli-harness';
import { SAMPLE_STORAGE_TIMESTAMP, SAMPLE_UUIDS, sampleStatus } from './fake-control';

afterEach(stopAll);

describe('proxyha cm status', () => {
  it('prints what proxyha-cm status prints: nodes, Current Storage Timestamps, sync, conflicts', async () => {
    const node = await startNode();
    const cm = sampleStatus().cm;
    if (!cm) throw new Error('the sample has cm');
    node.control.setStatus({
      cm: {
        ...cm,
        inSync: false,
        conflicts: [
          {
            scope: 'policy',
            winner: {
              id: 'aaaaaaaaaaaaaaaaaaaa',
              origin: 'mwg1',
              storageTimestamp: SAMPLE_STORAGE_TIMESTAMP,
            },
            loser: { id: 'bbbbbbbbbbbbbbbbbbbb', origin: 'mwg2', storageTimestamp: 'older' },
          },
        ],
      },
    });
    const run = await node.run('cm', 'status');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(formatCmStatus(node.control.current.cm as NonNullable<typeof cm>));
    expect(run.stdout.split('\n')).toEqual([
      `node mwg1 (${SAMPLE_UUIDS.mwg1})`,
      'cluster NOT in sync',
      '',
      `* mwg1  10.10.74.70:12346  v0.0.0-test  Current Storage Timestamp: ${SAMPLE_STORAGE_TIMESTAMP}  reachable`,
      `  mwg2  10.10.74.86:12346  v0.0.0-test  Current Storage Timestamp: ${SAMPLE_STORAGE_TIMESTAMP}  reachable`,
      '',
      'conflicts (the loser is kept: save it again to restore it):',
      `  policy: aaaaaaaaaaaa (mwg1, ${SAMPLE_STORAGE_TIMESTAMP}) won over bbbbbbbbbbbb (mwg2, older)`,
      '',
    ]);
  });

  it('--json prints central management as the node sees it', async () => {
    const node = await startNode();
    const run = await node.run('cm', 'status', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(sampleStatus().cm);
  });

  it('a node without central management: GATEWAY_CM_DISABLED, exit 1', async () => {
    const node = await startNode();
    node.control.setStatus({ cm: null });
    expect(await node.run('cm', 'status')).toEqual({
      code: 1,
      stdout: '',
      stderr: `proxyha: central management is off on node mwg1: ${node.configFile} has no cm section\n`,
    });
  });
});

describe('proxyha cm add-node', () => {
  it('adds HOST[:PORT] through the node and prints the added node', async () => {
    const node = await startNode();
    const run = await node.run('cm', 'add-node', '10.10.74.88:12346');
    expect(run).toEqual({
      code: 0,
      stdout: 'added mwg3 (33333333-3333-4333-8333-333333333333)\n',
      stderr: '',
    });
    expect(node.control.calls).toEqual([{ method: 'addNode', args: ['10.10.74.88:12346'] }]);
  });

  it("the node's errors: a bad address (400) and an unreachable node (502)", async () => {
    const node = await startNode();
    const bad = await node.run('cm', 'add-node', 'https://10.10.74.88/x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^proxyha: invalid request body: address: .* \(GATEWAY_BAD_REQUEST\)\n$/);
    expect(node.control.calls).toEqual([]);
    node.control.throwOn('addNode', new CmError('CM_CANNOT_CONNECT', 'cannot connect to 10.10.74.88:12346'));
    expect((await node.run('cm', 'add-node', '10.10.74.88')).stderr).toBe(
      'proxyha: cannot connect to 10.10.74.88:12346 (CM_CANNOT_CONNECT)\n',
    );
    expect((await proxyha('cm', 'add-node')).code).toBe(2);
  });
});

describe('proxyha maintenance', () => {
  it('on, then off: the node is told, and the state it reports is printed', async () => {
    const node = await startNode();
    const on = await node.run('maintenance', 'on');
    expect(on).toEqual({
      code: 0,
      stdout:
        'maintenance: on (node mwg1: director, VRRP master, priority 99)\n' +
        'this node takes no new connections as a scanning node and does not hold the VIPs; it stays so across ' +
        'restarts until: proxyha maintenance off\n',
      stderr: '',
    });
    const off = await node.run('maintenance', 'off');
    expect(off).toEqual({
      code: 0,
      stdout: 'maintenance: off (node mwg1: director, VRRP master, priority 99)\n',
      stderr: '',
    });
    expect(node.control.calls).toEqual([
      { method: 'setMaintenance', args: [true] },
      { method: 'setMaintenance', args: [false] },
    ]);
  });

  it('anything but on or off is a usage error, and nothing is sent', async () => {
    const node = await startNode();
    const run = await node.run('maintenance', 'maybe');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("error: command-argument value 'maybe' is invalid for argument 'state'");
    expect(node.control.calls).toEqual([]);
  });
});
