import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum } from '../../lib/probes/icmp/checksum.js';

describe('internetChecksum', () => {
  it('matches the worked example of RFC 1071 section 3', () => {
    // 0001 + f203 + f4f5 + f6f7 = 0x2ddf0; fold: ddf0 + 2 = ddf2; ~ddf2 = 220d.
    const bytes = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    assert.equal(internetChecksum(bytes), 0x220d);
  });

  it('computes an ICMPv4 echo request checksum worked out by hand', () => {
    // Words: 0800 0000 1234 0005 4e50 6e67 dead beef 0000 0000 0000 0005 3ff0 0000 0000 0000
    // 0800+1234 = 1a34; +0005 = 1a39; +4e50 = 6889; +6e67 = d6f0; +dead = 1b59d;
    // +beef = 2748c; +0005 = 27491; +3ff0 = 2b481. Fold: b481 + 2 = b483. ~b483 = 4b7c.
    const bytes = Uint8Array.from([
      0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x05, 0x4e, 0x50, 0x6e, 0x67, 0xde, 0xad, 0xbe,
      0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00,
    ]);
    assert.equal(internetChecksum(bytes), 0x4b7c);
    // With the checksum in place, the message sums to zero: what a receiver checks.
    bytes[2] = 0x4b;
    bytes[3] = 0x7c;
    assert.equal(internetChecksum(bytes), 0);
  });

  it('pads an odd trailing byte with a zero low byte', () => {
    // ab00 + 0000 -> ~ab00 = 54ff
    assert.equal(internetChecksum(Uint8Array.from([0xab])), 0x54ff);
    // 0102 + 0300 = 0402 -> fbfd
    assert.equal(internetChecksum(Uint8Array.from([0x01, 0x02, 0x03])), 0xfbfd);
  });

  it('folds carries more than once', () => {
    // 16 x ffff = 0xffff0; fold: fff0 + f = ffff; ~ffff = 0
    assert.equal(internetChecksum(new Uint8Array(32).fill(0xff)), 0);
    // ffff + 0001 = 10000; fold: 0000 + 1 = 0001; ~0001 = fffe
    assert.equal(internetChecksum(Uint8Array.from([0xff, 0xff, 0x00, 0x01])), 0xfffe);
  });

  it('is 0xffff over nothing or over zeros', () => {
    assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
    assert.equal(internetChecksum(new Uint8Array(9)), 0xffff);
  });

  it('covers only [start, end)', () => {
    const bytes = Uint8Array.from([0xff, 0xff, 0x00, 0x01, 0xf2, 0x03, 0xee]);
    // 0001 + f203 = f204 -> 0dfb
    assert.equal(internetChecksum(bytes, 2, 6), 0x0dfb);
    // odd range: 01f2 + 0300 = 04f2 -> fb0d
    assert.equal(internetChecksum(bytes, 3, 6), 0xfb0d);
    assert.equal(internetChecksum(bytes, 2), internetChecksum(bytes.subarray(2)));
  });
});
