import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HashedEvent } from '../../kernel/events/index.ts';
import { astrid, okJson } from './run-cli.ts';

/** Runs git in `cwd` with a fixed identity and no user-level config; throws on failure. */
export function git(cwd: string, args: readonly string[], input?: string): string {
  const run = spawnSync('git', ['-c', 'user.name=astrid-e2e', '-c', 'user.email=e2e@astrid.invalid', '-c', 'init.defaultBranch=main',
    '-c', 'core.excludesFile=/dev/null', '-c', 'core.ignoreCase=false', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    ...(input === undefined ? {} : { input }),
  });
  // check-ignore exits 1 when no path is ignored; everything else must succeed.
  assert.ok(run.status === 0 || (args[0] === 'check-ignore' && run.status === 1), `git ${args.join(' ')} failed: ${run.stderr}`);
  return run.stdout;
}

/** Writes `files` (relative path → content) under `root`, creating parents. */
export async function writeTree(root: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

/** A git repository at `dir` holding `files`, everything git does not ignore committed. */
export async function gitRepo(dir: string, files: Readonly<Record<string, string | Uint8Array>>): Promise<string> {
  await mkdir(dir, { recursive: true });
  git(dir, ['init', '-q']);
  await writeTree(dir, files);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'lower']);
  return dir;
}

/**
 * Every entry under `root` (skipping `.git`) as `path → "dir"` or `"file <mode> <sha256>"`,
 * so two snapshots are equal exactly when the trees are byte for byte (and mode for mode) equal.
 */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      if (rel === '' && name === '.git') continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      const info = await lstat(join(root, path));
      if (info.isDirectory()) {
        out[path] = 'dir';
        await walk(path);
      } else {
        const sha = createHash('sha256').update(await readFile(join(root, path))).digest('hex');
        out[path] = `file ${(info.mode & 0o777).toString(8)} ${sha}`;
      }
    }
  };
  await walk('');
  return out;
}

/** Every event of a home's log (the logs here are small). */
export async function logEvents(home: string): Promise<HashedEvent[]> {
  return okJson<HashedEvent[]>(await astrid(['log', 'show', '--from', '1', '--limit', '10000'], { home }));
}
