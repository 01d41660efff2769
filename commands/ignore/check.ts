import { Args, Flags } from '@oclif/core';
import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadIgnoreBoundary, normalizeRelative, type IgnoreDecision } from '../../kernel/ignore/index.ts';
import { AstridCommand } from '../_support/base.ts';

/** One path's verdict from `astrid ignore check`. */
export type IgnoreCheckEntry = IgnoreDecision & { readonly path: string };

/** `astrid ignore check`: which paths the `.astridignore` boundary hides, and by which rule. */
export default class IgnoreCheck extends AstridCommand {
  static override summary = 'Show which paths .astridignore and the built-in secret rules hide, and why';
  static override description =
    'Reads every .astridignore under the root (as git reads .gitignore files, plus built-in rules for secrets such as .env ' +
    'and private keys, which cannot be re-included) and checks each path, relative to the root ("/" also means the root). ' +
    'An existing directory is checked as a directory, as is a path ending in "/". Prints one line per path: ' +
    '"ignored PATH SOURCE:LINE: RULE" or "visible PATH"; --json prints [{"path", "ignored", "rule", "source", "line"}]. ' +
    'Exits 0 either way. Needs no home.';
  static override examples = [
    '<%= config.bin %> ignore check .env src/index.ts',
    '<%= config.bin %> ignore check build/ --root ./myrepo --json',
  ];
  static override strict = false;
  static override args = { path: Args.string({ description: 'Paths to check, relative to the root (one or more)', required: true }) };
  static override flags = { root: Flags.string({ description: 'The directory whose boundary applies [default: the current directory]' }) };

  async run(): Promise<IgnoreCheckEntry[]> {
    const { argv, flags } = await this.parse(IgnoreCheck);
    const root = resolve(flags.root ?? '.');
    const boundary = await loadIgnoreBoundary(root, { logger: this.logger() });
    const out: IgnoreCheckEntry[] = [];
    for (const raw of argv as string[]) {
      const slash = raw.length > 1 && raw.endsWith('/');
      const path = normalizeRelative(slash ? raw.slice(0, -1) : raw);
      const isDir = slash || (path !== '' && (await lstat(join(root, path)).then((s) => s.isDirectory(), () => false)));
      const decision = boundary.check(path, { isDir });
      out.push({ path: raw, ...decision });
    }
    // Every path is checked before anything is printed, so a bad one leaves no partial output.
    for (const e of out) this.log(e.ignored ? `ignored  ${e.path}  ${where(e)}` : `visible  ${e.path}`);
    return out;
  }
}

function where(decision: IgnoreDecision): string {
  const at = decision.source === null ? 'unknown' : decision.line === null ? decision.source : `${decision.source}:${decision.line}`;
  return `${at}: ${decision.rule ?? '?'}`;
}
