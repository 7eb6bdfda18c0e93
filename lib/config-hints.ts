/**
 * Misconfigurations no option check can see at construction, because they depend on the rest of the
 * app: `captureHeaders` mounted after the route or not at all, a `passthrough` name no `captureHeaders`
 * allows (`x-tenants` for `x-tenant`), a target without its path. Each is logged once per route, by name.
 */
import type { IncomingMessage } from 'node:http';
import { capturesSoFar, hasCaptureSlot } from './capture.js';
import type { ProxyConfig } from './config.js';

export class ConfigHints {
  readonly #config: ProxyConfig;
  /** The route reads captured headers: passthrough names, or a session bound to or pinning them. */
  readonly #needsCapture: boolean;
  #passthroughChecked = false;
  #slotChecked = false;
  #rootNotFoundNoted = false;

  constructor(config: ProxyConfig) {
    this.#config = config;
    this.#needsCapture = config.passthrough !== undefined || config.session.mode !== 'request';
    if (config.targetPath === '/') {
      config.logger.info(
        { target: config.origin, hint: 'target_without_path' },
        'mcpProxy: the target has no path; MCP servers usually serve one (for example /mcp): requests go to / exactly',
      );
    }
  }

  /**
   * Called per request until every check has run: a boolean test once they have. The checks wait for
   * the first request because only then is every captureHeaders of the app surely built.
   */
  get pending(): boolean {
    return !this.#slotChecked || !this.#passthroughChecked;
  }

  onRequest(req: IncomingMessage): void {
    if (!this.#passthroughChecked) this.#checkPassthrough();
    if (this.#slotChecked) return;
    this.#slotChecked = true;
    if (!this.#needsCapture || hasCaptureSlot(req)) return;
    const uses = this.#config.passthrough ? 'passthrough' : `session '${this.#config.session.mode}'`;
    this.#config.logger.warn(
      { hint: 'no_capture', uses },
      `mcpProxy: a request reached this route without captureHeaders having run, so no caller header is forwarded (${uses}). Mount app.use(captureHeaders({ allow: [...] })) before the route`,
    );
  }

  /** A 404 from a backend at `/`: most likely the target is missing its path. */
  onBackendStatus(status: number): void {
    if (status !== 404 || this.#config.targetPath !== '/' || this.#rootNotFoundNoted) return;
    this.#rootNotFoundNoted = true;
    this.#config.logger.warn(
      { hint: 'target_without_path', target: this.#config.origin, status },
      'mcpProxy: the backend answered 404 at /; the target has no path: MCP servers usually serve one, for example target: "http://host:port/mcp"',
    );
  }

  #checkPassthrough(): void {
    this.#passthroughChecked = true;
    const { passthrough, capturedInputs, logger } = this.#config;
    const captures = capturesSoFar();
    if (captures.count === 0) return;
    // Names read by fromCaptured and templates need capturing too.
    const read = new Set([...(passthrough ?? []), ...capturedInputs]);
    const never = [...read].filter((name) => !captures.allowed.has(name));
    if (never.length === 0) return;
    logger.warn(
      { hint: 'passthrough_not_captured', headers: never },
      `mcpProxy: this route reads ${never.join(', ')}, which no captureHeaders allows, so they are never forwarded. Add them to captureHeaders({ allow }) or correct the spelling`,
    );
  }
}
