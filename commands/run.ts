import Daemon from './daemon/index.ts';

/** `astrid run`: the kernel in the foreground, running every installed capsule. */
export default class Run extends Daemon {
  static override summary = 'Run the kernel in the foreground with every installed capsule, until Ctrl-C';
  static override description =
    'Owns the home like `astrid daemon`: boots every installed capsule and delivers bus messages to their handlers in log order, ' +
    'resuming after a restart from the last message each handler finished. `astrid daemon start` does the same in the background.';
  static override examples = ['<%= config.bin %> run', '<%= config.bin %> run --home ./scratch-home'];
}
