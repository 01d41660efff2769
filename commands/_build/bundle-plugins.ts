import { createRequire } from 'node:module';
import type { Plugin } from 'esbuild';

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/**
 * Leaves every package import to Node at run time (native addons, packages that find files
 * next to themselves, and @oclif/core, whose classes must be the very ones the `astrid` bin
 * loads), except the pure-JS packages listed in `bundled`, which are inlined and tree-shaken.
 */
export function externalPackages(bundled: readonly string[]): Plugin {
  return {
    name: 'astrid-external-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.namespace === CJS_NAMESPACE) return undefined;
        if (args.path.startsWith('node:') || !bundled.includes(packageOf(args.path))) return { path: args.path, external: true };
        return undefined;
      });
    },
  };
}

const CJS_NAMESPACE = 'astrid-cjs-build';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The source of a module that loads package `name` through its CommonJS build and re-exports
 * every named export of it (plus `default`). The names are read by loading the package once at
 * build time, so an import of a name it lacks fails the build rather than a command.
 */
export function cjsBuildSource(name: string): string {
  const loaded = createRequire(import.meta.url)(name) as Record<string, unknown>;
  const names = Object.keys(loaded).filter((key) => key !== 'default' && key !== '__esModule' && IDENTIFIER.test(key));
  return [
    "import { createRequire } from 'node:module';",
    `const loaded = createRequire(import.meta.url)(${JSON.stringify(name)});`,
    ...names.map((key) => `export const ${key} = loaded.${key};`),
    `export default ${'default' in loaded ? 'loaded.default' : 'loaded'};`,
    '',
  ].join('\n');
}

/**
 * Loads each package in `names` through its CommonJS build (its package.json `require`
 * condition) instead of its ESM entry. lmdb ships both, built from the same sources: the CJS
 * build is one file, while the ESM entry is about 25 modules, which a short-lived command pays
 * ~25 ms to load. Only for packages whose ESM entry has no live bindings that the bundled code
 * reads after loading.
 */
export function commonJsBuilds(names: readonly string[]): Plugin {
  return {
    name: 'astrid-cjs-builds',
    setup(build) {
      const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: CJS_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: CJS_NAMESPACE }, (args) => ({ contents: cjsBuildSource(args.path), loader: 'js', resolveDir: process.cwd() }));
    },
  };
}
