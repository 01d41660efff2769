import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { repoRoot } from './repo-root.ts';

/** A source file of the project, its path relative to the repository root with "/" separators. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
  /** The text with comments blanked out, so a commented import does not count. */
  readonly code: string;
}

/** One import of a file: its specifier and, for a relative one, the target's repo-relative path. */
export interface SourceImport {
  readonly specifier: string;
  readonly target: string | null;
}

/** Test and fixture files: they run in one process on private temp files and are not shipped. */
export function isTestFile(path: string): boolean {
  return /\.(test|fixture|test-support)\.ts$/.test(path) || path.startsWith('test/') || path.startsWith('bench/');
}

/** Every `.ts`, `.js` and `.mjs` file under the given top-level folders (no node_modules, no dist). */
export function sourceFiles(folders: readonly string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist' && !entry.name.startsWith('.')) walk(path);
      } else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const text = readFileSync(join(repoRoot, path), 'utf8');
        files.push({ path, text, code: stripComments(text) });
      }
    }
  };
  for (const folder of folders) walk(folder);
  return files;
}

/** Blanks block comments and line comments (a `//` at a line start or after whitespace). */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|\s)\/\/.*$/gm, '$1');
}

const IMPORT_PATTERNS = [
  /\bfrom\s*['"]([^'"]+)['"]/g, // import … from 'x', export … from 'x'
  /\bimport\s*['"]([^'"]+)['"]/g, // import 'x'
  /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // import('x')
  /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g, // require('x')
];

/** The static and dynamic imports of a file, relative ones resolved to repo-relative paths. */
export function importsOf(file: SourceFile): SourceImport[] {
  const found: SourceImport[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of file.code.matchAll(pattern)) {
      const specifier = match[1] ?? '';
      const target = specifier.startsWith('.') ? relative(repoRoot, resolve(repoRoot, dirname(file.path), specifier)).split(sep).join('/') : null;
      found.push({ specifier, target });
    }
  }
  return found;
}

/** Whether `specifier` names package `name` or one of its subpaths (`name` ending in "/" matches a scope). */
export function isPackage(specifier: string, name: string): boolean {
  return name.endsWith('/') ? specifier.startsWith(name) : specifier === name || specifier.startsWith(`${name}/`);
}
