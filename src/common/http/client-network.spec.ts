import { clientNetworkKey } from './client-network';

describe('clientNetworkKey: what per-client limits count under', () => {
  it('keeps an IPv4 address as it is', () => {
    expect(clientNetworkKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetworkKey('203.0.113.8')).toBe('203.0.113.8');
    // a dotted quad with leading zeros is no address to Node (so never an alias of another's key)
    expect(clientNetworkKey('203.0.113.007')).toBe('203.0.113.007');
  });

  it('takes an IPv4-mapped IPv6 address as its IPv4 address (dotted or hex spelling)', () => {
    expect(clientNetworkKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetworkKey('::FFFF:cb00:7107')).toBe('203.0.113.7');
    expect(clientNetworkKey('0:0:0:0:0:ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('keys an IPv6 address by its /64, in one canonical spelling whatever the spelling in', () => {
    const key = '2001:db8:1:2::/64';
    for (const spelling of ['2001:db8:1:2::1', '2001:0db8:0001:0002:0000:0000:0000:0001', '2001:DB8:1:2:0:0:0:1', '2001:db8:1:2:abcd:ef01:2345:6789', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::'])
      expect([spelling, clientNetworkKey(spelling)]).toEqual([spelling, key]);
    expect(clientNetworkKey('2001:db8::5')).toBe('2001:db8::/64');
    expect(clientNetworkKey('::1')).toBe('::/64');
    // A zone names the interface, not the client.
    expect(clientNetworkKey('fe80::1%eth0')).toBe('fe80::/64');
  });

  it('gives different /64s different keys, neighbours and far apart alike', () => {
    const keys = ['2001:db8:1:2::1', '2001:db8:1:3::1', '2001:db8:1:1::1', '2001:db8:2:2::1', '2001:db9:1:2::1', '::ffff:203.0.113.7', '203.0.113.8'].map(clientNetworkKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leaves anything that is not an address as it is', () => {
    expect(clientNetworkKey('unknown')).toBe('unknown');
  });
});
