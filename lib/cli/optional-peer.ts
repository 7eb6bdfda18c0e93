/**
 * The command's optional peer dependencies (express, the MCP SDK for the demo, node-redis for a shared
 * session store): loaded only when a command needs them, and named with the install line when missing.
 */
export class MissingDependencyError extends Error {}

/** Runs `load` (dynamic imports); a module not found becomes a MissingDependencyError saying `missing`. */
export async function loadOptional<T>(load: () => Promise<T>, missing: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new MissingDependencyError(missing);
  }
}
