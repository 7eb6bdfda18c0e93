/**
 * The one feature set every era backend serves (test/helpers/mcp-eras.ts), written once for SDK v1's
 * McpServer and once for SDK v2's, so a client sees the same tools, resource and prompt whichever
 * server answers:
 *  - `echo` returns its `region` and `text` arguments as JSON text; `region` is mirrored into the
 *    `Mcp-Param-Region` header by 2026-07-28 clients (`x-mcp-header`).
 *  - `steps` sends two progress notifications (when asked for progress) and one log message before its
 *    result, so its answer is an event stream.
 *  - `answer` returns structured content and nothing else before it (a JSON answer where the
 *    transport chooses per response).
 *  - `slow` runs until cancelled (or SLOW_TOOL_MS) and records both in `ToolEvents` under its `tag`.
 *  - `ask` obtains a sampling result and an elicitation answer from the client: v1 with server→client
 *    requests on the call's own stream, v2 with `input_required` results (the 2026 client fulfils them;
 *    on a 2025 session the SDK's legacy shim turns them into server→client requests).
 *  - resource `eras://greeting`, prompt `greet`.
 */
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CreateMessageResultSchema, ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpServer, acceptedContent, inputRequired, inputResponse, type ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';

export const GREETING_URI = 'eras://greeting';
export const GREETING_TEXT = 'hello from the era backend';
/** How long `slow` runs when nobody cancels it; longer than any test waits. */
export const SLOW_TOOL_MS = 10_000;
/** What the client's sampling handler answers and its elicitation handler accepts. */
export const SAMPLED_TEXT = 'sampled by the client';
export const ELICITED = { confirmed: true } as const;

const SERVER_INFO = { name: 'era-backend', version: '1.0.0' } as const;
const CAPABILITIES = { tools: { listChanged: true }, resources: {}, prompts: {}, logging: {} } as const;

const echoInput = {
  region: z.string().meta({ 'x-mcp-header': 'Region' }),
  text: z.string().optional(),
};
const slowInput = { tag: z.string() };
const answerOutput = { answer: z.number() };
const greetArgs = { name: z.string() };
const SAMPLING_REQUEST = { messages: [{ role: 'user' as const, content: { type: 'text' as const, text: 'say something' } }], maxTokens: 16 };
const ELICIT_REQUEST = {
  message: 'Confirm?',
  requestedSchema: { type: 'object' as const, properties: { confirmed: { type: 'boolean' as const } }, required: ['confirmed'] },
};

/** What `slow` went through, per tag: `started`, then `cancelled` or `finished`. */
export class ToolEvents {
  private readonly byTag = new Map<string, string[]>();
  private readonly timers = new Set<NodeJS.Timeout>();

  record(tag: string, event: 'started' | 'cancelled' | 'finished'): void {
    const list = this.byTag.get(tag) ?? [];
    list.push(event);
    this.byTag.set(tag, list);
  }

  of(tag: string): readonly string[] {
    return this.byTag.get(tag) ?? [];
  }

  /** Runs until `signal` aborts or SLOW_TOOL_MS pass; the timer never keeps the process alive. */
  async runSlow(tag: string, signal: AbortSignal): Promise<void> {
    this.record(tag, 'started');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish('finished'), SLOW_TOOL_MS).unref();
      this.timers.add(timer);
      const finish = (event: 'cancelled' | 'finished') => {
        clearTimeout(timer);
        this.timers.delete(timer);
        signal.removeEventListener('abort', onAbort);
        this.record(tag, event);
        resolve();
      };
      const onAbort = () => finish('cancelled');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort);
    });
  }
}

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const echoResult = (args: { region: string; text?: string | undefined }) => text(JSON.stringify({ region: args.region, text: args.text ?? null }));
const answerResult = () => ({ ...text('{"answer":42}'), structuredContent: { answer: 42 } });
const greetResult = (name: string) => ({ messages: [{ role: 'user' as const, content: { type: 'text' as const, text: `Hello, ${name}` } }] });
const greetingContents = (uri: string) => ({ contents: [{ uri, mimeType: 'text/plain', text: GREETING_TEXT }] });
const askResult = (sampled: unknown, elicited: unknown) => text(JSON.stringify({ sampled, elicited }));

/** An SDK v1 McpServer with the feature set (2025-11-25 only). */
export function featureServerV1(events: ToolEvents): McpServerV1 {
  const server = new McpServerV1(SERVER_INFO, { capabilities: CAPABILITIES });
  server.registerTool('echo', { inputSchema: echoInput }, (args) => echoResult(args));
  server.registerTool('steps', { inputSchema: {} }, async (_args, extra) => {
    const token = extra._meta?.progressToken;
    const progress = async (n: number) => {
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: n, total: 2 } });
    };
    await progress(1);
    // Sent as related to this call, so it travels on the call's stream like the progress notifications.
    await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'step one done' } });
    await progress(2);
    return text('steps done');
  });
  server.registerTool('answer', { inputSchema: {}, outputSchema: answerOutput }, () => answerResult());
  server.registerTool('slow', { inputSchema: slowInput }, async ({ tag }, extra) => {
    await events.runSlow(tag, extra.signal);
    return text('slow done');
  });
  server.registerTool('ask', { inputSchema: {} }, async (_args, extra) => {
    // sendRequest relates the request to this call, so it travels on the call's own event stream.
    const sampled = await extra.sendRequest({ method: 'sampling/createMessage', params: SAMPLING_REQUEST }, CreateMessageResultSchema);
    const elicited = await extra.sendRequest({ method: 'elicitation/create', params: { mode: 'form', ...ELICIT_REQUEST } }, ElicitResultSchema);
    return askResult(sampled.content, elicited.action === 'accept' ? elicited.content : elicited.action);
  });
  server.registerResource('greeting', GREETING_URI, { mimeType: 'text/plain' }, (uri) => greetingContents(uri.href));
  server.registerPrompt('greet', { argsSchema: greetArgs }, ({ name }) => greetResult(name));
  return server;
}

/** Sends progress `n` of 2 when the caller asked for progress. */
async function progressV2(ctx: ServerContext, n: number): Promise<void> {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: n, total: 2 } });
}

/**
 * `ask` written once for both eras: the first round returns `input_required`; the retry carries the
 * answers. A 2025 session gets the same through the SDK's legacy shim.
 */
function askV2(_args: unknown, ctx: ServerContext) {
  const sampled = inputResponse(ctx.mcpReq.inputResponses, 'sample');
  const elicited = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
  if (sampled.kind !== 'sampling' || elicited === undefined) {
    return inputRequired({
      inputRequests: {
        sample: inputRequired.createMessage(SAMPLING_REQUEST),
        confirm: inputRequired.elicit(ELICIT_REQUEST),
      },
    });
  }
  return askResult(sampled.result.content, elicited);
}

/** An SDK v2 McpServer with the feature set; the factory for createMcpHandler and the hybrid's 2025 sessions. */
export function featureServerV2(events: ToolEvents): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: CAPABILITIES });
  server.registerTool('echo', { inputSchema: z.object(echoInput) }, (args) => echoResult(args));
  server.registerTool('steps', { inputSchema: z.object({}) }, async (_args, ctx) => {
    await progressV2(ctx, 1);
    // log() honours the 2026 request's `_meta` log level (sends nothing without one) and the 2025 setLevel.
    await ctx.mcpReq.log('info', 'step one done');
    await progressV2(ctx, 2);
    return text('steps done');
  });
  server.registerTool('answer', { inputSchema: z.object({}), outputSchema: z.object(answerOutput) }, () => answerResult());
  server.registerTool('slow', { inputSchema: z.object(slowInput) }, async ({ tag }, ctx) => {
    await events.runSlow(tag, ctx.mcpReq.signal);
    return text('slow done');
  });
  server.registerTool('ask', { inputSchema: z.object({}) }, askV2);
  server.registerResource('greeting', GREETING_URI, { mimeType: 'text/plain' }, (uri) => greetingContents(uri.href));
  server.registerPrompt('greet', { argsSchema: z.object(greetArgs) }, ({ name }) => greetResult(name));
  return server;
}
