import { routeOf, type Route } from '../../projections/routes.ts';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid route list`. */
export interface RouteListResult {
  readonly routes: readonly Route[];
}

/** `astrid route list`: the routing table. */
export default class RouteList extends AstridCommand {
  static override summary = 'List the routing table (role → capsule)';
  static override examples = ['<%= config.bin %> route list', '<%= config.bin %> route list --json'];

  async run(): Promise<RouteListResult> {
    const { flags } = await this.parse(RouteList);
    await using kernel = await this.openKernel(flags);
    const page = await kernel.projectionPage('routes', { limit: 10_000 });
    const routes = page.entries.map(([role, stored]) => routeOf(role, stored));
    if (routes.length === 0) this.log('No routes');
    for (const r of routes) this.log(`${r.role}\t${r.capsuleId}`);
    return { routes };
  }
}
