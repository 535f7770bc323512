import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDaemonArgs } from '../../daemon/options.js';
import { InvalidInputError } from '../../lib/errors.js';
import {
  checkedLabels,
  labelsFrom,
  parseLabelList,
  RESERVED_LABEL_NAMES,
} from '../../lib/labels.js';
import { parseTargetKey, parseTargetOptions, targetKey, targetMember } from '../../lib/target.js';

describe('labels', () => {
  it('parses KEY=VALUE pairs, sorted by name, a later one winning', () => {
    assert.deepEqual(labelsFrom(['role=lb', 'dc=fra1', 'role=web']), { dc: 'fra1', role: 'web' });
    assert.deepEqual(parseLabelList(' dc=fra1, az=b ,'), { az: 'b', dc: 'fra1' });
    assert.deepEqual(parseLabelList(''), {});
    assert.deepEqual(labelsFrom(['empty=']), { empty: '' });
  });

  it('refuses every reserved name, each with a clear line', () => {
    for (const name of RESERVED_LABEL_NAMES) {
      assert.throws(
        () => labelsFrom([`${name}=x`]),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.message.includes(`'${name}'`) &&
          err.message.includes('reserved'),
      );
    }
  });

  it('refuses names Prometheus would not take, and values that would break a member', () => {
    for (const bad of ['1dc=x', 'd-c=x', '__x=y', '=x', 'dc', 'dc x=y']) {
      assert.throws(() => labelsFrom([bad]), InvalidInputError, bad);
    }
    for (const bad of ['dc=a b', 'dc=a&b', 'dc=a,b', 'dc=a@b', 'dc=a?b', 'dc=a\nb']) {
      assert.throws(() => labelsFrom([bad]), InvalidInputError, JSON.stringify(bad));
    }
    assert.throws(() => checkedLabels({ dc: 1 }), InvalidInputError);
    assert.throws(() => checkedLabels([]), InvalidInputError);
  });

  it('ride on a member as label.KEY=VALUE, outside the target key', () => {
    const t = parseTargetKey('web@192.0.2.1?label.role=lb&interval=5s&label.dc=fra1');
    assert.deepEqual(t.labels, { dc: 'fra1', role: 'lb' });
    assert.equal(targetKey(t), 'web@192.0.2.1');
    assert.equal(targetMember(t), 'web@192.0.2.1?interval=5000ms&label.dc=fra1&label.role=lb');
    assert.deepEqual(parseTargetKey(targetMember(t)), t);
    assert.throws(() => parseTargetOptions('label.job=x'), /reserved/);
    assert.throws(() => parseTargetOptions('label.dc=a&label.dc=b'), /given twice/);
    assert.throws(() => parseTargetOptions('label.dc'), /KEY=VALUE/);
  });
});

describe('netpingd --label and --mesh options', () => {
  const argv = (...args: string[]) => ['node', 'netpingd', ...args];

  it('takes --label (repeatable) over NETPING_LABELS', () => {
    const saved = process.env.NETPING_LABELS;
    process.env.NETPING_LABELS = 'dc=fra1,az=b';
    try {
      const c = parseDaemonArgs(argv('--label', 'az=c', '--label', 'rack=7'));
      assert.deepEqual(c.labels, { az: 'c', dc: 'fra1', rack: '7' });
    } finally {
      if (saved === undefined) delete process.env.NETPING_LABELS;
      else process.env.NETPING_LABELS = saved;
    }
  });

  it('refuses --mesh without --redis in one line, as a usage error', () => {
    assert.throws(
      () => parseDaemonArgs(argv('--mesh')),
      (err: unknown) =>
        err instanceof InvalidInputError &&
        err.exitCode === 2 &&
        /--mesh needs --redis/.test(err.message),
    );
  });

  it('has the issue defaults, and checks --advertise, --mesh-probes and the expiry', () => {
    const c = parseDaemonArgs(argv('--redis', 'redis://127.0.0.1', '--mesh'));
    assert.equal(c.mesh?.refreshMs, 5000);
    assert.equal(c.mesh?.expiryMs, 20_000);
    assert.ok(c.mesh?.probes.includes('icmp'));
    assert.equal(c.mesh?.advertise, undefined);
    const d = parseDaemonArgs(
      argv('--redis', 'redis://h', '--mesh', '--advertise', '10.0.0.1, 2001:DB8::1'),
    );
    assert.deepEqual(d.mesh?.advertise, ['10.0.0.1', '2001:db8::1']);
    const r = ['--redis', 'redis://h', '--mesh'];
    assert.throws(() => parseDaemonArgs(argv(...r, '--advertise', 'host.example')), /advertise/);
    assert.throws(() => parseDaemonArgs(argv(...r, '--mesh-probes', 'icmp,smtp')), /smtp/);
    assert.throws(
      () => parseDaemonArgs(argv(...r, '--mesh-refresh', '5s', '--mesh-expiry', '6s')),
      /twice the refresh/,
    );
    assert.equal(parseDaemonArgs(argv('--redis', 'redis://h')).mesh, undefined);
  });
});
