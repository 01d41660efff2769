import { createHomeMarker } from '../kernel/home/index.ts';
import { AstridCommand } from './_support/base.ts';

/** The result of `astrid init`. */
export interface InitResult {
  readonly home: string;
  readonly origin: string;
  readonly created: boolean;
  readonly head: number;
}

/** `astrid init`: creates the home, its event log and its first event. */
export default class Init extends AstridCommand {
  static override summary = 'Create an Astrid home (default ~/.astrid)';
  static override description =
    'Creates the home directory with mode 0700, its event log, and records `home.initialized` as event 1. Running it again on a home is harmless.';
  static override examples = ['<%= config.bin %> init', '<%= config.bin %> init --home ./scratch-home --json'];

  async run(): Promise<InitResult> {
    const { flags } = await this.parse(Init);
    const home = this.homeOf(flags);
    const { marker, created } = await createHomeMarker(home);
    await using kernel = await this.openKernel(flags);
    const status = await kernel.status();
    this.log(created ? `Created Astrid home ${home} (host ${marker.origin})` : `${home} is already an Astrid home (host ${marker.origin})`);
    return { home, origin: marker.origin, created, head: status.head.seq };
  }
}
