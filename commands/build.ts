import { Args, Flags } from '@oclif/core';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, KernelError } from '../kernel/errors/index.ts';
import { AstridCommand } from './_support/base.ts';

/** The result of `astrid build`. */
export interface BuildResult {
  readonly capsuleId: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly cached: boolean;
}

/** `astrid build`: compiles a capsule directory offline and packs it into a `.capsule`. */
export default class Build extends AstridCommand {
  static override summary = 'Compile a capsule directory and pack it into <name>-<version>.capsule';
  static override description =
    'Compiles assembly/index.ts with the Astrid SDK preset (offline; cached by a hash of every source), writes the module where the ' +
    'manifest\'s [[component]] names it, and packs the capsule deterministically (same input, same bytes), leaving out assembly/.';
  static override examples = ['<%= config.bin %> build ./hello', '<%= config.bin %> build ./hello --out dist --json'];
  static override args = { dir: Args.string({ description: 'Capsule directory', required: true }) };
  static override flags = {
    out: Flags.string({ description: 'Directory for the .capsule file', default: '.' }),
    debug: Flags.boolean({ description: 'Build without optimisation, with debug info' }),
  };

  async run(): Promise<BuildResult> {
    const { args, flags } = await this.parse(Build);
    const dir = resolve(args.dir);
    const { loadManifest } = await import('../kernel/capsule/manifest/index.ts');
    const manifest = await loadManifest(dir);
    if (manifest === null) throw new KernelError(ErrorCode.NotFound, `Cannot build "${dir}" as it has no Capsule.toml`, { details: { path: dir } });
    const wasmComponents = (manifest.component ?? []).filter((c) => c.wasm !== undefined);
    if (wasmComponents.length > 1) throw new KernelError(ErrorCode.Unsupported, `Cannot build "${dir}" as it names ${wasmComponents.length} wasm components and one is supported`);
    let cached = true;
    const target = wasmComponents[0]?.wasm;
    if (target !== undefined) {
      const { buildCapsuleWasm } = await import('../capsules/tools/build.ts');
      const built = await buildCapsuleWasm(dir, { optimize: !flags.debug });
      cached = built.cached;
      await writeFile(join(dir, target), built.wasm);
    }
    const { packCapsule } = await import('../kernel/capsule/archive/index.ts');
    const file = resolve(flags.out, `${manifest.package.name}-${manifest.package.version}.capsule`);
    const packed = await packCapsule(dir, file, { filter: (rel) => !rel.startsWith('assembly/') && rel !== 'assembly' && !rel.endsWith('.capsule') });
    this.log(`Built ${file} (${packed.bytes} B, sha256 ${packed.sha256.slice(0, 12)}…)`);
    return { capsuleId: manifest.package.name, version: manifest.package.version, file, sha256: packed.sha256, bytes: packed.bytes, cached };
  }
}
