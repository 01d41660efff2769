import { homedir } from 'node:os';
import { resolve } from 'node:path';

/**
 * Where the Astrid home is: the `--home` flag wins over `ASTRID_HOME`, which wins over
 * `~/.astrid`. This is the only place that reads the environment for it.
 */
export function resolveHomePath(flag?: string): string {
  const fromEnv = process.env['ASTRID_HOME'];
  if (flag !== undefined && flag !== '') return resolve(flag);
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv);
  return resolve(homedir(), '.astrid');
}
