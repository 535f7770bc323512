import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../lib/errors.js';
import { PROBE_KIND_NAMES } from '../../lib/probes/kinds.js';
import {
  MAX_NAME_LENGTH,
  parseTargetKey,
  parseTargetRequest,
  probeLabel,
  targetKey,
  targetMember,
} from '../../lib/target.js';

function assertInvalid(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `not an InvalidInputError: ${String(err)}`);
    assert.equal(err.exitCode, 2);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

const BAD_CHARACTERS = /^invalid target name ".*": no whitespace or control characters$/su;

describe('targetKey', () => {
  it('joins name and address with @', () => {
    assert.equal(targetKey({ name: 'web', address: '2001:db8::1' }), 'web@2001:db8::1');
  });
});

describe('parseTargetKey', () => {
  it('parses name@IPv4', () => {
    assert.deepEqual(parseTargetKey('web@192.0.2.1'), {
      name: 'web',
      address: '192.0.2.1',
      family: 4,
    });
  });

  it('parses name@IPv6 and canonicalises the address', () => {
    assert.deepEqual(parseTargetKey('gw@2001:0DB8:0:0::0001'), {
      name: 'gw',
      address: '2001:db8::1',
      family: 6,
    });
  });

  it('round-trips through targetKey', () => {
    for (const key of ['a@10.0.0.1', 'router-1.lab@fe80::1', 'ünïcode✓@::1']) {
      assert.equal(targetKey(parseTargetKey(key)), key);
    }
  });

  it('rejects a member without @', () => {
    assertInvalid(
      () => parseTargetKey('192.0.2.1'),
      "invalid target '192.0.2.1': expected name@address",
    );
    const long = 'x'.repeat(80);
    assertInvalid(
      () => parseTargetKey(long),
      `invalid target '${'x'.repeat(60)}…': expected name@address`,
    );
  });

  it('rejects an empty name', () => {
    assertInvalid(() => parseTargetKey('@192.0.2.1'), 'invalid target: the name is empty');
  });

  it('splits at the last @, and then rejects the @ left in the name', () => {
    assertInvalid(
      () => parseTargetKey('a@b@192.0.2.1'),
      "invalid target name 'a@b': it may not contain '@'",
    );
  });

  it('rejects what is not an address, host names included', () => {
    for (const address of ['', 'example.com', '192.0.2.256', '2001:db8::g', '1.2.3']) {
      assertInvalid(
        () => parseTargetKey(`web@${address}`),
        `invalid address '${address}': not an IPv4 or IPv6 address`,
      );
    }
  });
});

describe('parseTargetRequest: valid forms', () => {
  it('takes a bare address as its own name', () => {
    assert.deepEqual(parseTargetRequest('192.0.2.1'), {
      kind: 'address',
      target: { name: '192.0.2.1', address: '192.0.2.1', family: 4 },
    });
    assert.deepEqual(parseTargetRequest('2001:DB8::1'), {
      kind: 'address',
      target: { name: '2001:DB8::1', address: '2001:db8::1', family: 6 },
    });
  });

  it('takes name@address', () => {
    assert.deepEqual(parseTargetRequest('web@2001:db8:0::1'), {
      kind: 'address',
      target: { name: 'web', address: '2001:db8::1', family: 6 },
    });
  });

  it('takes a bare host, named after itself, for resolving later', () => {
    assert.deepEqual(parseTargetRequest('example.com'), {
      kind: 'host',
      name: 'example.com',
      host: 'example.com',
      options: undefined,
    });
    assert.deepEqual(parseTargetRequest('localhost'), {
      kind: 'host',
      name: 'localhost',
      host: 'localhost',
      options: undefined,
    });
  });

  it('takes name@host, a trailing dot and 63-character labels', () => {
    assert.deepEqual(parseTargetRequest('web@www.example.com.'), {
      kind: 'host',
      name: 'web',
      host: 'www.example.com.',
      options: undefined,
    });
    const label = 'a'.repeat(63);
    assert.equal(parseTargetRequest(`w@${label}.example`).kind, 'host');
    assert.equal(parseTargetRequest('w@xn--bcher-kva.example').kind, 'host');
  });

  it('accepts a name of exactly 100 characters, counted as code points', () => {
    const name = 'n'.repeat(MAX_NAME_LENGTH);
    assert.equal(parseTargetRequest(`${name}@192.0.2.1`).kind, 'address');
    const emoji = '😀'.repeat(MAX_NAME_LENGTH); // 200 UTF-16 units
    assert.equal(parseTargetRequest(`${emoji}@192.0.2.1`).kind, 'address');
  });
});

describe('parseTargetRequest: bad input', () => {
  it('rejects an empty name', () => {
    assertInvalid(() => parseTargetRequest('@192.0.2.1'), 'invalid target: the name is empty');
    assertInvalid(() => parseTargetRequest('@example.com'), 'invalid target: the name is empty');
    assertInvalid(() => parseTargetRequest(''), 'invalid target: the name is empty');
  });

  it('rejects more than one @', () => {
    assertInvalid(
      () => parseTargetRequest('a@b@192.0.2.1'),
      "invalid target 'a@b@192.0.2.1': more than one '@'",
    );
    assertInvalid(
      () => parseTargetRequest('a@@example.com'),
      "invalid target 'a@@example.com': more than one '@'",
    );
  });

  const badNames: [string, string][] = [
    ['space', 'web server'],
    ['leading space', ' web'],
    ['tab', 'web\tserver'],
    ['newline', 'web\nserver'],
    ['carriage return', 'web\r'],
    ['NUL', 'web\u0000'],
    ['escape', '\u001b[31mred'],
    ['DEL', 'web\u007f'],
    ['C1 control NEL', 'web\u0085'],
    ['no-break space', 'web\u00a0server'],
    ['line separator U+2028', 'web\u2028server'],
    ['paragraph separator U+2029', 'web\u2029server'],
  ];
  for (const [what, name] of badNames) {
    it(`rejects a name with a ${what}`, () => {
      assertInvalid(() => parseTargetRequest(`${name}@192.0.2.1`), BAD_CHARACTERS);
      assertInvalid(() => parseTargetRequest(`${name}@example.com`), BAD_CHARACTERS);
    });
  }

  it('shows the bad name JSON-escaped in the message', () => {
    assertInvalid(
      () => parseTargetRequest('web\tserver@192.0.2.1'),
      'invalid target name "web\\tserver": no whitespace or control characters',
    );
    assertInvalid(
      () => parseTargetRequest('a\nb@example.com'),
      'invalid target name "a\\nb": no whitespace or control characters',
    );
  });

  it('rejects a name over 100 characters', () => {
    assertInvalid(
      () => parseTargetRequest(`${'n'.repeat(101)}@192.0.2.1`),
      'invalid target name: longer than 100 characters (101)',
    );
    assertInvalid(
      () => parseTargetRequest('h'.repeat(101)), // a bare host is its own name
      'invalid target name: longer than 100 characters (101)',
    );
  });

  it('counts the characters of a long name the way it limits them', () => {
    assertInvalid(
      () => parseTargetRequest(`${'😀'.repeat(101)}@192.0.2.1`),
      'invalid target name: longer than 100 characters (101)',
    );
  });

  const badHosts = [
    '-bad.example',
    'bad-.example',
    'under_score.example',
    'a..b',
    '.example',
    'example..',
    'a b.example',
    'ex ample',
    'exa%mple.com',
    `${'a'.repeat(64)}.example`,
    '2001:db8::g',
    '192.0.2.1:80',
    '[2001:db8::1]',
  ];
  for (const host of badHosts) {
    it(`rejects the host ${JSON.stringify(host)}`, () => {
      assertInvalid(
        () => parseTargetRequest(`web@${host}`),
        `invalid target '${host.length > 60 ? `${host.slice(0, 60)}…` : host}': not an IP address or a host name`,
      );
    });
  }

  it('rejects an empty host', () => {
    assertInvalid(
      () => parseTargetRequest('web@'),
      "invalid target '': not an IP address or a host name",
    );
  });

  it('rejects dotted numbers that are not an IPv4 address instead of resolving them', () => {
    // RFC 1123 2.1: a host name never has the dotted-decimal form, and
    // getaddrinfo would read '127.1' as 127.0.0.1 and '1.2.3' as 1.2.0.3.
    for (const host of ['192.0.2.256', '999.1.1.1', '127.1', '1.2.3']) {
      assertInvalid(() => parseTargetRequest(`web@${host}`), /not an IP address or a host name/);
    }
  });

  it('rejects a host over 253 characters', () => {
    const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`;
    assert.equal(host.length, 254);
    assertInvalid(
      () => parseTargetRequest(`web@${host}`),
      `invalid target '${host.slice(0, 60)}…': not an IP address or a host name`,
    );
    assert.equal(parseTargetRequest(`web@${host.slice(1)}`).kind, 'host'); // 253 is fine
  });

  it('rejects input too long to be name@host?options at all', () => {
    // Options have room for a few labels (512 characters).
    const text = `${'n'.repeat(100)}@${'h'.repeat(254)}?${'o'.repeat(512)}`;
    assertInvalid(() => parseTargetRequest(text), 'invalid target: 868 characters is too long');
  });
});

describe('per-target options', () => {
  it('parses interval and timeout after the address, in members and requests', () => {
    assert.deepEqual(parseTargetKey('fast@127.0.0.1?interval=250ms&timeout=0.1'), {
      name: 'fast',
      address: '127.0.0.1',
      family: 4,
      overrides: { intervalMs: 250, timeoutMs: 100 },
    });
    assert.deepEqual(parseTargetRequest('::1?timeout=2s'), {
      kind: 'address',
      target: { name: '::1', address: '::1', family: 6, overrides: { timeoutMs: 2000 } },
    });
    assert.deepEqual(parseTargetRequest('web@example.com?interval=1m'), {
      kind: 'host',
      name: 'web',
      host: 'example.com',
      options: { overrides: { intervalMs: 60_000 } },
    });
  });

  it('keeps a question mark in a name a name', () => {
    assert.equal(parseTargetKey('who?@127.0.0.1').name, 'who?');
  });

  it('writes the canonical member and keeps the identity without options', () => {
    const t = parseTargetKey('fast@127.000.0.1?timeout=1.5s&interval=2s'.replace('000', '0'));
    assert.equal(targetMember(t), 'fast@127.0.0.1?interval=2000ms&timeout=1500ms');
    assert.equal(targetKey(t), 'fast@127.0.0.1');
    assert.equal(targetMember(parseTargetKey('plain@::1')), 'plain@::1');
  });

  it('refuses unknown, repeated-out-of-bounds and empty options', () => {
    assertInvalid(
      () => parseTargetKey('a@127.0.0.1?colour=red'),
      "invalid target options 'colour=red': expected probe=KIND&port=PORT&interval=DURATION&timeout=DURATION&label.KEY=VALUE (throughput: every=DURATION&duration=DURATION), each optional",
    );
    assertInvalid(
      () => parseTargetKey('a@127.0.0.1?interval=5ms'),
      "invalid interval '5ms': must be between 10ms and 60m",
    );
    assertInvalid(
      () => parseTargetKey('a@127.0.0.1?timeout=2m'),
      "invalid timeout '2m': must be between 1ms and 1m",
    );
    assertInvalid(
      () => parseTargetRequest('a@127.0.0.1?'),
      "invalid target options '': expected probe=KIND&port=PORT&interval=DURATION&timeout=DURATION&label.KEY=VALUE (throughput: every=DURATION&duration=DURATION), each optional",
    );
  });
});

describe('probe kinds in targets', () => {
  it('keeps an ICMP target as it always was, with or without probe=icmp', () => {
    const plain = parseTargetKey('g@192.0.2.1');
    assert.deepEqual(parseTargetKey('g@192.0.2.1?probe=icmp'), plain);
    assert.equal(targetKey(plain), 'g@192.0.2.1');
    assert.equal(probeLabel(plain), 'icmp');
  });

  it('refuses an unknown kind and a port on a kind that takes none', () => {
    assertInvalid(
      () => parseTargetKey('a@127.0.0.1?probe=smtp'),
      `invalid probe kind 'smtp': expected one of ${PROBE_KIND_NAMES.join(', ')}`,
    );
    assertInvalid(
      () => parseTargetKey('a@127.0.0.1?port=80'),
      'invalid target: icmp probes take no port',
    );
  });
});
