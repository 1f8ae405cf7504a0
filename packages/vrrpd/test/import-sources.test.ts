// importKeepalivedConfig's `sources`: where each imported vrrp_instance and vrrp_sync_group was declared,
// in the order of the document's lists (the gateway's import names them in its notes).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importKeepalivedConfig, importKeepalivedFile } from '../src/index';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'keepalived', name);

describe('keepalived import sources', () => {
  it('names the file and line of every imported instance and sync group, in document order', () => {
    const file = fixture('keepalived.conf.vrrp.sync');
    const r = importKeepalivedFile(file);
    const instances = r.document.instances as { name: string }[];
    expect(r.sources.instances.map((s) => s.name)).toEqual(instances.map((i) => i.name));
    expect(r.sources.instances[0]).toEqual({ name: 'VI_1', file, line: 25 });
    expect(r.sources.syncGroups).toEqual([
      { name: 'G1', file, line: 3 },
      { name: 'G2', file, line: 18 },
    ]);
  });

  it('a group of one imported member is not in the document, nor in the sources', () => {
    const text = [
      'vrrp_sync_group G {',
      '  group {',
      '    A',
      '    B',
      '  }',
      '}',
      'vrrp_instance A {',
      '  interface eth0',
      '  virtual_router_id 1',
      '  virtual_ipaddress {',
      '    10.0.0.1/24',
      '  }',
      '}',
      '',
    ].join('\n');
    const r = importKeepalivedConfig(text, { file: 'k.conf' });
    expect(r.sources).toEqual({ instances: [{ name: 'A', file: 'k.conf', line: 7 }], syncGroups: [] });
    expect(r.document.syncGroups).toBeUndefined();
  });
});
