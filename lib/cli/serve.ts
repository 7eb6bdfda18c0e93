/**
 * `serve`: from a file (reloaded when it changes, or on SIGHUP) or the built-in demo, until SIGTERM or
 * SIGINT; then the routes drain within the configuration's shutdownGrace and the command exits 0.
 */
import { loadConfigFile } from './config-file.js';
import { demoInstructions, startDemo } from './demo.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { announce, cliLogger } from './output.js';
import { watchFile } from './watch-file.js';

export async function serveFile(file: string, watch: boolean): Promise<number> {
  const config = loadConfigFile(file);
  const logger = cliLogger({ info: true });
  const gateway = await startGateway(config, logger);
  announce('listening', { url: gateway.url, admin: gateway.admin ?? gateway.url, routes: config.routes.map((r) => r.path) });
  const reload = (trigger: 'file' | 'signal') => void gateway.reload(trigger);
  const unwatch = watch ? watchFile(file, () => reload('file'), logger) : () => undefined;
  const onHangUp = () => reload('signal');
  process.on('SIGHUP', onHangUp);
  return untilSignal(gateway, logger, () => {
    unwatch();
    process.off('SIGHUP', onHangUp);
  });
}

export async function serveDemo(port: number): Promise<number> {
  const demo = await startDemo(port);
  const logger = cliLogger({ info: true });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(demo.config, logger);
  } catch (error) {
    await demo.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new Error(`serve --demo: port ${port} is in use; pass --port 0 for any free port, or another port`);
    /* c8 ignore next: another listen failure (EACCES on a port below 1024 without the right) cannot happen to the tests, which run as root */
    throw error;
  }
  announce('listening', { url: gateway.url, admin: gateway.url, routes: demo.config.routes.map((r) => r.path) });
  console.log(`\n${demo.yaml}${demoInstructions(gateway.url)}\n`);
  const code = await untilSignal(gateway, logger, () => undefined);
  await demo.close();
  return code;
}

/** Serves until SIGTERM or SIGINT, then drains within the configuration's shutdownGrace. */
function untilSignal(gateway: RunningGateway, logger: ReturnType<typeof cliLogger>, stopping: () => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopped = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second signal: stop waiting for the grace period.
      if (stopped) process.exit(signal === 'SIGINT' ? 130 : 143);
      stopped = true;
      stopping();
      const grace = gateway.shutdownGrace;
      announce('stopping', { signal, grace });
      gateway.close(grace).then(
        (summaries) => {
          announce('stopped', { finished: sum(summaries, 'finished'), cut: sum(summaries, 'cut') });
          resolve(0);
        },
        /* c8 ignore next 4: close() does not reject (the file's shutdownGrace is checked at load, server.close errors are not passed on) */
        (error: unknown) => {
          logger.error({ error: (error as Error).name }, 'mcp-header-relay serve: shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

const sum = (summaries: readonly { finished: number; cut: number }[], key: 'finished' | 'cut') => summaries.reduce((n, s) => n + s[key], 0);
