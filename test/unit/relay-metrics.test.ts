/**
 * relayMetrics() options, refused at the call with the option's name (like every other option of the
 * package), and its `/metrics` handler: the registry's text, or a 500 when a collector fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { relayMetrics, type RelayMetricsOptions } from '../../lib/metrics/index.js';
import { expectConfigError } from '../helpers/config-errors.js';
import { listen } from '../helpers/listen.js';

describe('relayMetrics options', () => {
  const refused: [string, unknown, string, RegExp][] = [
    ['null instead of an options object', null, '(options)', /takes an options object/],
    ['a string instead of an options object', 'mcp_', '(options)', /takes an options object/],
    ['an unknown option', { prefx: 'edge_' }, 'prefx', /unknown option of relayMetrics\(\); it takes registry, prefix, buckets/],
    ['a registry that is not a prom-client Registry', { registry: { metrics: () => '' } }, 'registry', /must be a prom-client Registry/],
    ['a prefix that is not a string', { prefix: 5 }, 'prefix', /must start a Prometheus metric name/],
    ['a prefix starting with a digit', { prefix: '1relay_' }, 'prefix', /must start a Prometheus metric name/],
    ['a prefix with a dash', { prefix: 'mcp-relay_' }, 'prefix', /must start a Prometheus metric name/],
    ['buckets that are not a list', { buckets: 1 }, 'buckets', /non-empty list of increasing positive seconds/],
    ['an empty bucket list', { buckets: [] }, 'buckets', /non-empty list/],
    ['buckets not increasing', { buckets: [1, 1] }, 'buckets', /increasing/],
    ['a bucket of zero', { buckets: [0, 1] }, 'buckets', /positive/],
    ['a bucket that is not a number', { buckets: [0.1, '1'] }, 'buckets', /increasing positive seconds/],
    ['an infinite bucket', { buckets: [1, Infinity] }, 'buckets', /increasing positive seconds/],
  ];
  for (const [name, options, path, message] of refused) {
    it(`refused: ${name}`, () => {
      const err = expectConfigError(() => relayMetrics(options as RelayMetricsOptions), 'ERR_INVALID_OPTION', path);
      assert.match(err.message, message);
    });
  }

  it('accepted: an empty prefix, a colon in the prefix, one bucket', () => {
    const registry = new Registry();
    relayMetrics({ registry, prefix: '' });
    relayMetrics({ registry, prefix: 'edge:relay_', buckets: [0.5] });
    assert.ok(registry.getSingleMetric('requests_total'));
    assert.ok(registry.getSingleMetric('edge:relay_requests_total'));
  });
});

describe('relayMetrics handler', () => {
  it("answers 200 with the registry's text exposition", async () => {
    const metrics = relayMetrics();
    const server = await listen((req, res) => metrics.handler(req, res));
    try {
      const answer = await fetch(server.url);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.get('content-type'), metrics.registry.contentType);
      assert.match(await answer.text(), /^# HELP mcp_relay_requests_total /m);
    } finally {
      await server.close();
    }
  });

  it('answers 500 in plain text when a collector of the registry fails, without its error', async () => {
    const registry = new Registry();
    const metrics = relayMetrics({ registry });
    new Gauge({
      name: 'host_app_broken',
      help: 'a host app gauge whose collect() throws',
      registers: [registry],
      collect() {
        throw new Error('collector secret detail');
      },
    });
    const server = await listen((req, res) => metrics.handler(req, res));
    try {
      const answer = await fetch(server.url);
      assert.equal(answer.status, 500);
      assert.equal(answer.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await answer.text(), 'metrics collection failed\n');
    } finally {
      await server.close();
    }
  });
});
