/**
 * mcp-header-relay/metrics against the main package's types: relayMetrics() is what mcpProxy's `metrics`
 * option takes, its handler mounts on Express, and the option types refuse what they should.
 */
import express from 'express';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'tstyche';
import type { DropReason, HeaderDropReason, McpProxyOptions, RouteMetrics } from '../../lib/index.js';
import { relayMetrics, type RelayMetrics } from '../../lib/metrics/index.js';

describe('relayMetrics', () => {
  test('returns what the metrics option of mcpProxy takes', () => {
    expect(relayMetrics()).type.toBeAssignableTo<RouteMetrics>();
    expect(relayMetrics()).type.toBeAssignableTo<NonNullable<McpProxyOptions['metrics']>>();
  });

  test('takes a prom-client registry, a prefix and buckets', () => {
    expect(relayMetrics({ registry: new Registry(), prefix: 'edge_', buckets: [0.1, 1] })).type.toBe<RelayMetrics>();
    expect(relayMetrics).type.not.toBeCallableWith({ registry: {} });
    expect(relayMetrics).type.not.toBeCallableWith({ prefix: 1 });
  });

  test('its handler mounts on an Express app', () => {
    const app = express();
    expect(app.get).type.toBeCallableWith('/metrics', relayMetrics().handler);
  });

  test("its header drop reasons are explain's words for the same decisions", () => {
    expect<HeaderDropReason>().type.toBe<'not_in_passthrough' | 'credential_not_allowed' | 'overridden_by_route' | 'not_captured'>();
    expect<HeaderDropReason>().type.toBeAssignableTo<DropReason>();
  });
});
