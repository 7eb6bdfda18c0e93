/**
 * lib/cli/watch-file.ts: a change in the file's directory calls back once per burst (debounced),
 * whether the file is written in place or replaced by a rename; a directory that cannot be watched is
 * logged (by directory and code) and leaves the gateway to SIGHUP, without throwing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { WATCH_DEBOUNCE_MS, watchFile } from '../../lib/cli/watch-file.js';
import type { RelayLogger } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('watchFile', () => {
  it('a burst of writes and a rename over the file call back once each burst', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay-watch-'));
    const file = path.join(dir, 'relay.yaml');
    writeFileSync(file, 'a');
    let calls = 0;
    const unwatch = watchFile(file, () => calls++, captureLogger() as Required<RelayLogger>);
    try {
      for (let i = 0; i < 5; i++) writeFileSync(file, `a${i}`);
      await waitFor(() => calls === 1, 'one call for the burst');
      await sleep(WATCH_DEBOUNCE_MS * 2);
      assert.equal(calls, 1, 'a burst is one call');
      writeFileSync(`${file}.tmp`, 'b');
      renameSync(`${file}.tmp`, file);
      await waitFor(() => calls === 2, 'a call for the rename');
    } finally {
      unwatch();
    }
    writeFileSync(file, 'c');
    await sleep(WATCH_DEBOUNCE_MS * 2);
    assert.equal(calls, 2, 'nothing after unwatch');
  });

  it('a directory that cannot be watched: a warning naming it and the code, no throw; SIGHUP still reloads', () => {
    const logger = captureLogger();
    const unwatch = watchFile('/nonexistent-relay-dir/relay.yaml', () => assert.fail('no call'), logger as Required<RelayLogger>);
    unwatch();
    const warning = logger.lines.find((line) => line.level === 'warn');
    assert.ok(warning, JSON.stringify(logger.lines));
    assert.deepEqual(warning.fields, { dir: '/nonexistent-relay-dir', code: 'ENOENT' });
    assert.match(warning.message, /SIGHUP still reloads/);
  });
});
