import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/auth/client-address';

describe('the address failed authentications count against', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s counts as %s', (ip, expected) => {
    expect(clientAddress(ip)).toBe(expected);
  });

  it('two hosts of one IPv6 /64 share a count; another /64 does not', () => {
    expect(clientAddress('2001:db8:a:b::1')).toBe(clientAddress('2001:db8:a:b:ffff:ffff:ffff:ffff'));
    expect(clientAddress('2001:db8:a:b::1')).not.toBe(clientAddress('2001:db8:a:c::1'));
  });
});
