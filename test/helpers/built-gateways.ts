/**
 * Gateways a unit test builds as `check` does (lib/cli/build-routes.ts): their routes hold agents and
 * timers, so the test file closes them after its suites.
 */
import { after } from 'node:test';
import type { BuiltGateway } from '../../lib/cli/build-routes.js';
import { closeRoutes } from '../../lib/index.js';

/** Registers an `after` hook; the function returned keeps a built gateway for it to close. */
export function closedAfterwards(): (built: BuiltGateway) => BuiltGateway {
  const open: BuiltGateway[] = [];
  after(() =>
    Promise.all(
      open.map((g) =>
        closeRoutes(
          g.routes.map((r) => r.route),
          { grace: 0 },
        ),
      ),
    ),
  );
  return (built) => {
    open.push(built);
    return built;
  };
}
