import { Args } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';
import { routeRemovedEvent } from '../_support/events.ts';

/** The result of `astrid route remove`. */
export interface RouteRemoveResult {
  readonly role: string;
  readonly seq: number;
}

/** `astrid route remove`: records `route.removed`. */
export default class RouteRemove extends AstridCommand {
  static override summary = 'Remove the route of a role';
  static override examples = ['<%= config.bin %> route remove orchestrator'];
  static override args = { role: Args.string({ description: 'Role', required: true }) };

  async run(): Promise<RouteRemoveResult> {
    const { args, flags } = await this.parse(RouteRemove);
    await using kernel = await this.openKernel(flags);
    const [event] = await kernel.append([routeRemovedEvent(args.role)]);
    const seq = event?.seq ?? 0;
    this.log(`Removed the route of ${args.role} at seq ${seq}`);
    return { role: args.role, seq };
  }
}
