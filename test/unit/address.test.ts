import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { canonicalAddress, compareAddresses, familyOf } from '../../lib/address.js';

describe('familyOf', () => {
  it('tells IPv4 from IPv6 from anything else', () => {
    assert.equal(familyOf('192.0.2.1'), 4);
    assert.equal(familyOf('::1'), 6);
    assert.equal(familyOf('2001:db8::1'), 6);
    assert.equal(familyOf('::ffff:192.0.2.1'), 6);
    for (const s of ['', 'example.com', '1.2.3', '256.1.1.1', '2001:db8::g', '1.2.3.4 ']) {
      assert.equal(familyOf(s), undefined, JSON.stringify(s));
    }
  });
});

describe('canonicalAddress', () => {
  const cases: [string, string][] = [
    // IPv4 as is
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
    // RFC 5952 4.1: leading zeros suppressed
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['::0001', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    // 4.2.1: the longest run of zero groups is compressed
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    // 4.2.2: a single zero group is not compressed
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    // 4.2.3: the longest run wins; on a tie the first
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    // 4.3: lower case
    ['2001:DB8::ABCD', '2001:db8::abcd'],
    // runs at either end, and everything
    ['0:0:0:0:0:0:0:0', '::'],
    ['::', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'],
    ['0:0:1:0:0:0:0:0', '0:0:1::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    // embedded IPv4 outside ::ffff:0:0/96 is not recognised, so it is written in hex
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ];
  for (const [input, expected] of cases) {
    it(`writes ${input} as ${expected}`, () => assert.equal(canonicalAddress(input), expected));
  }

  it('writes IPv4-mapped addresses in mixed notation (RFC 5952 section 5)', () => {
    // libuv, which formats the source of every reply we receive, writes them so too.
    assert.equal(canonicalAddress('::ffff:192.0.2.1'), '::ffff:192.0.2.1');
    assert.equal(canonicalAddress('::ffff:c000:201'), '::ffff:192.0.2.1');
  });

  it('agrees with how libuv formats received sources, for ordinary addresses', () => {
    for (const a of [
      '2001:0DB8::0001',
      '::1',
      'fe80:0:0:0:0:0:0:1',
      '2001:db8:0:0:1:0:0:1',
      '1::',
    ]) {
      const libuv = new SocketAddress({ address: a, family: 'ipv6' }).address;
      assert.equal(canonicalAddress(a), libuv, a);
    }
  });

  it('is idempotent', () => {
    for (const [input] of cases) {
      const once = canonicalAddress(input);
      assert.equal(canonicalAddress(once), once);
    }
  });

  it('leaves anything that is not an address unchanged', () => {
    for (const s of ['example.com', '', '1.2.3', 'not:an:address'])
      assert.equal(canonicalAddress(s), s);
  });
});

describe('compareAddresses', () => {
  it('orders numerically, IPv4 before IPv6', () => {
    const input = [
      'fe80::1',
      '2001:db8::a',
      '10.0.0.10',
      '::1',
      '9.255.255.255',
      '2001:db8::1',
      '10.0.0.2',
      '::ffff:0.0.0.1',
      '255.255.255.255',
      '2001:db8::1:0',
    ];
    assert.deepEqual([...input].sort(compareAddresses), [
      '9.255.255.255',
      '10.0.0.2',
      '10.0.0.10',
      '255.255.255.255',
      '::1',
      '::ffff:0.0.0.1',
      '2001:db8::1',
      '2001:db8::a',
      '2001:db8::1:0',
      'fe80::1',
    ]);
  });

  it('puts even the highest IPv4 before the lowest IPv6', () => {
    assert.ok(compareAddresses('255.255.255.255', '::') < 0);
    assert.ok(compareAddresses('::', '255.255.255.255') > 0);
  });

  it('compares different spellings of one address as equal', () => {
    assert.equal(compareAddresses('::1', '0:0:0:0:0:0:0:1'), 0);
    assert.equal(compareAddresses('2001:DB8::1', '2001:db8:0::1'), 0);
    assert.equal(compareAddresses('192.0.2.1', '192.0.2.1'), 0);
  });

  it('is antisymmetric', () => {
    assert.ok(compareAddresses('10.0.0.2', '10.0.0.10') < 0);
    assert.ok(compareAddresses('10.0.0.10', '10.0.0.2') > 0);
    assert.ok(compareAddresses('2001:db8::2', '2001:db8::10') < 0);
  });

  it('puts what is not an address last, in string order', () => {
    const sorted = ['zeta', '::1', 'alpha', '1.1.1.1'].sort(compareAddresses);
    assert.deepEqual(sorted, ['1.1.1.1', '::1', 'alpha', 'zeta']);
    assert.equal(compareAddresses('same', 'same'), 0);
  });
});
