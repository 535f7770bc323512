// npcli as a user runs it, without a daemon. Needs neither root nor Redis.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/processes.js';

describe('npcli help', () => {
  it('`npcli help add` prints the help of add and exits 0, like `npcli add --help`', async () => {
    const viaHelp = await runCli(['help', 'add']);
    const viaFlag = await runCli(['add', '--help']);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.match(viaHelp.stdout, /^Usage: npcli add /m);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });

  it('`npcli help` exits 0; no command at all is a usage error (exit 2)', async () => {
    const help = await runCli(['help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: npcli /m);
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^Usage: npcli /m);
  });
});
