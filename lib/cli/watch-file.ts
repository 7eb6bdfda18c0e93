/**
 * Tells `serve` when its file may have changed. The file's directory is watched, not the file: editors
 * save by writing a new file and renaming it over the old one, and a Kubernetes ConfigMap swaps a
 * symlink, and either would leave a watch on the old file's inode blind. Events come in bursts, so they
 * are debounced; whether the text really changed is for the reload to decide (it compares digests).
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { RelayLogger } from '../logger.js';

export const WATCH_DEBOUNCE_MS = 150;

/** Calls `changed` after a burst of changes in the file's directory; returns the function that stops watching. */
export function watchFile(file: string, changed: () => void, logger: Required<RelayLogger>): () => void {
  const dir = path.dirname(path.resolve(file));
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  const unwatched = (error: unknown) =>
    logger.warn({ dir, code: (error as NodeJS.ErrnoException).code ?? 'error' }, 'mcp-header-relay serve: cannot watch the file; SIGHUP still reloads it');
  try {
    watcher = watch(dir, { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(changed, WATCH_DEBOUNCE_MS);
    });
  } catch (error) {
    unwatched(error);
    return () => undefined;
  }
  /* c8 ignore next 4: a watch errs when the kernel drops it (the directory removed, inotify limits): not something a test can cause portably */
  watcher.on('error', (error) => {
    unwatched(error);
    watcher.close();
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
