/**
 * The route name (option `name`, default host and path of the target) and the default console logger:
 * one JSON object per line, naming the route, never a value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mcpProxy } from '../../lib/index.js';
import { captureLogger } from '../helpers/capture-logger.js';
import { expectConfigError } from '../helpers/config-errors.js';

describe('route name', () => {
  it('defaults to the host and path of the target; the name option replaces it', () => {
    assert.equal(mcpProxy({ target: 'http://127.0.0.1:9/mcp', logger: captureLogger() }).name, '127.0.0.1:9/mcp');
    assert.equal(mcpProxy({ target: 'https://api.example.com/', logger: captureLogger() }).name, 'api.example.com');
    assert.equal(mcpProxy({ target: 'http://127.0.0.1:9/mcp', name: 'github', logger: captureLogger() }).name, 'github');
  });

  it('a default name longer than 64 characters is cut at 64', () => {
    const target = `http://127.0.0.1:9/${'p'.repeat(80)}`;
    assert.equal(mcpProxy({ target, logger: captureLogger() }).name, `127.0.0.1:9/${'p'.repeat(64 - '127.0.0.1:9/'.length)}`);
  });

  it('a name with spaces, control characters, non-ASCII, empty or over 64 characters is refused, naming the option', () => {
    for (const name of ['', 'git hub', 'a\nb', 'gïthub', 'x'.repeat(65)]) {
      const err = expectConfigError(() => mcpProxy({ target: 'http://127.0.0.1:9/mcp', name, logger: captureLogger() }), 'ERR_INVALID_OPTION', 'name');
      assert.match(err.message, /1 to 64 visible ASCII characters/);
    }
  });

  it('every log line of the route carries route: <name>', () => {
    const logger = captureLogger();
    mcpProxy({ target: 'http://127.0.0.1:9/mcp', name: 'jira', passthrough: ['cookie'], allowCredentials: true, logger });
    assert.ok(logger.lines.length >= 2);
    for (const line of logger.lines) assert.equal((line.fields as { route?: string }).route, 'jira', line.message);
  });
});

describe('the default console logger', () => {
  it('writes one JSON object per line: level, time, name, msg and the fields, no value', () => {
    const written: unknown[][] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void written.push(args);
    try {
      mcpProxy({
        target: 'http://127.0.0.1:9/mcp',
        name: 'gh',
        passthrough: ['authorization'],
        allowCredentials: true,
        headers: { plaintext: { 'x-p': 'static-value-7f3' } },
      });
    } finally {
      console.warn = original;
    }
    assert.equal(written.length, 1);
    assert.equal(written[0]!.length, 1, 'a single string argument');
    const text = written[0]![0] as string;
    assert.doesNotMatch(text, /\n/);
    assert.doesNotMatch(text, /static-value-7f3/);
    const line = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ['level', 'time', 'name', 'msg', 'route', 'header', 'option']);
    assert.equal(line.level, 'warn');
    assert.equal(line.name, 'mcp-header-relay');
    assert.equal(line.route, 'gh');
    assert.equal(line.header, 'authorization');
    assert.ok(!Number.isNaN(Date.parse(line.time as string)));
  });
});
