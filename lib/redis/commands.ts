/**
 * Running the store's scripts through the user's `sendCommand`, whatever client is behind it:
 * - every command is `EVALSHA sha numkeys key ...` or `EVAL source numkeys key ...`, so `args[3]` is
 *   always a key of the store (for a cluster client that routes by key);
 * - EVALSHA first, and EVAL when the server answers NOSCRIPT (a restart, a failover, SCRIPT FLUSH, a
 *   cluster node that has not seen the script): EVAL caches the script, so the next EVALSHA finds it;
 * - the writes the relay does not wait for (a record, a delete) are sent as EVAL straight away: one
 *   command queued before the relay answers the client, with no NOSCRIPT round trip in which a
 *   follow-up through another replica could overtake it;
 * - replies are read as node-redis and ioredis give them (strings, numbers, null; Buffers when a client
 *   is set to return them).
 */
import type { Script } from './scripts.js';

/** Sends one Redis command (name and arguments) and resolves with its reply. */
export type SendCommand = (args: string[]) => Promise<unknown>;

export class ScriptRunner {
  readonly #send: SendCommand;

  constructor(send: SendCommand) {
    this.#send = send;
  }

  /** The script's reply; `once`: send the source (EVAL) without trying EVALSHA first. */
  async run(script: Script, keys: readonly string[], args: readonly string[], once = false): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    if (!once) {
      try {
        return await this.#send(['EVALSHA', script.sha, ...tail]);
      } catch (err) {
        if (!isNoScript(err)) throw err;
      }
    }
    return this.#send(['EVAL', script.source, ...tail]);
  }
}

/** The server does not have the script cached: node-redis and ioredis both keep the reply's text as the message. */
function isNoScript(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.startsWith('NOSCRIPT');
}

/** A bulk string reply (or nil as undefined). */
export function stringReply(reply: unknown): string | undefined {
  if (reply === null || reply === undefined) return undefined;
  if (typeof reply === 'string') return reply;
  if (reply instanceof Uint8Array) return Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString('utf8');
  throw new TypeError(`unexpected reply from Redis (${typeof reply})`);
}

/** An integer reply. */
export function integerReply(reply: unknown): number {
  const n = typeof reply === 'string' ? Number(reply) : reply;
  if (typeof n === 'number' && Number.isInteger(n)) return n;
  throw new TypeError(`unexpected reply from Redis (${typeof reply})`);
}
