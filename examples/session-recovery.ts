/**
 * Recovering from 404 "Session not found" in an MCP client application (docs/sessions.md, "When a
 * session is refused"). MCP 2025-11-25 says a client that gets 404 for its session MUST start a new
 * one, but the SDK clients (v1 1.32 and v2 2.4, measured) keep the stale session id, so every later
 * call fails the same way until the application reconnects. This is that reconnect.
 */

// #region session-recovery
/** The SDK's error for an HTTP 404 on a session request: v1 puts the status in `code`, v2 in `status`. */
export function isSessionNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown } | null;
  return e?.code === 404 || e?.status === 404;
}

/**
 * Runs calls on one client and, when its session is refused, connects a new one (a new initialize,
 * with the headers the application sends now) and retries the call once.
 */
export class SessionRecovery<C extends { close(): Promise<void> }> {
  #client: C | undefined;

  /** `connect` builds a client and connects it (new Client(...), new transport, client.connect). */
  constructor(private readonly connect: () => Promise<C>) {}

  async run<T>(call: (client: C) => Promise<T>): Promise<T> {
    this.#client ??= await this.connect();
    try {
      return await call(this.#client);
    } catch (err) {
      if (!isSessionNotFound(err)) throw err;
      await this.#client.close().catch(() => {});
      this.#client = await this.connect();
      return call(this.#client);
    }
  }

  async close(): Promise<void> {
    await this.#client?.close();
    this.#client = undefined;
  }
}
// #endregion session-recovery
