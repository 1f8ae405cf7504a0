import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetioError, NetioInvalidArgumentError } from '../src/errors';
import { resolveIpOptions, resolvePacketOptions } from '../src/validate';

const good = { family: 'ipv4', protocol: 112, interface: 'eth0' } as const;

describe('resolveIpOptions', () => {
  it('applies defaults and lets multicastTtl follow ttl', () => {
    expect(resolveIpOptions({ ...good, ttl: 255 })).toMatchObject({
      ttl: 255,
      multicastTtl: 255,
      multicastLoop: false,
      broadcast: false,
    });
    expect(resolveIpOptions({ ...good, ttl: 64, multicastTtl: 255 }).multicastTtl).toBe(255);
    expect(resolveIpOptions(good).multicastTtl).toBeUndefined();
  });

  it.each([
    [{ ...good, family: 4 }, 'options.family'],
    [{ ...good, family: 'IPv4' }, 'options.family'],
    [{ ...good, protocol: 0 }, 'options.protocol'],
    [{ ...good, protocol: 255 }, 'options.protocol'],
    [{ ...good, protocol: 1.5 }, 'options.protocol'],
    [{ ...good, interface: '' }, 'options.interface'],
    [{ ...good, interface: 'a-very-long-ifname' }, 'options.interface'],
    [{ ...good, interface: 'eth0/x' }, 'options.interface'],
    [{ ...good, interface: 'eth 0' }, 'options.interface'],
    [{ ...good, ttl: 0 }, 'options.ttl'],
    [{ ...good, ttl: 256 }, 'options.ttl'],
    [{ ...good, multicastTtl: -1 }, 'options.multicastTtl'],
    [{ ...good, multicastLoop: 'yes' }, 'options.multicastLoop'],
    [{ ...good, family: 'ipv6', broadcast: true }, 'options.broadcast'],
    [{ ...good, source: 'fd00::1' }, 'options.source'],
    [{ ...good, source: '224.0.0.18' }, 'options.source'],
    [{ ...good, source: '192.168.077.1' }, 'options.source'],
    [{ ...good, family: 'ipv6', source: 'fe80::1%eth0' }, 'options.source'],
    [{ ...good, tos: 256 }, 'options.tos'],
    [{ ...good, checksumOffset: 6 }, 'options.checksumOffset'],
    [{ ...good, family: 'ipv6', checksumOffset: 7 }, 'options.checksumOffset'],
    [null, 'options'],
  ])('rejects %j naming %s', (options, argument) => {
    try {
      resolveIpOptions(options);
      expect.unreachable('should throw');
    } catch (error) {
      expect(error).toBeInstanceOf(NetioInvalidArgumentError);
      expect((error as NetioInvalidArgumentError).code).toBe('NETIO_INVALID_ARGUMENT');
      expect((error as NetioInvalidArgumentError).details.argument).toBe(argument);
      expect((error as Error).message).toContain(argument);
    }
  });

  it('throws nothing but NETIO_INVALID_ARGUMENT for arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        (family, protocol, iface, ttl) => {
          try {
            resolveIpOptions({ family, protocol, interface: iface, ttl });
          } catch (error) {
            expect(error).toBeInstanceOf(NetioError);
            expect((error as NetioError).code).toBe('NETIO_INVALID_ARGUMENT');
          }
        },
      ),
    );
  });
});

describe('resolvePacketOptions', () => {
  it('accepts ARP and rejects out-of-range EtherTypes', () => {
    expect(resolvePacketOptions({ interface: 'eth0', etherType: 0x0806 })).toEqual({
      interface: 'eth0',
      etherType: 0x0806,
      includeOutgoing: false,
    });
    expect(() => resolvePacketOptions({ interface: 'eth0', etherType: 0x10000 })).toThrow(
      /options.etherType/,
    );
  });
});
