import { Args } from '@oclif/core';
import { AstridCommand } from '../_support/base.ts';
import { routeAssignedEvent } from '../_support/events.ts';

/** The result of `astrid route set`. */
export interface RouteSetResult {
  readonly role: string;
  readonly capsuleId: string;
  readonly seq: number;
}

/** `astrid route set`: records `route.assigned`. */
export default class RouteSet extends AstridCommand {
  static override summary = 'Route a role (orchestrator, llm provider, uplink…) to a capsule';
  static override examples = ['<%= config.bin %> route set orchestrator my-orchestrator'];
  static override args = {
    role: Args.string({ description: 'Role: lowercase dotted tokens', required: true }),
    capsule: Args.string({ description: 'Capsule id', required: true }),
  };

  async run(): Promise<RouteSetResult> {
    const { args, flags } = await this.parse(RouteSet);
    await using kernel = await this.openKernel(flags);
    const [event] = await kernel.append([routeAssignedEvent(args.role, args.capsule)]);
    const seq = event?.seq ?? 0;
    this.log(`Routed ${args.role} to ${args.capsule} at seq ${seq}`);
    return { role: args.role, capsuleId: args.capsule, seq };
  }
}
