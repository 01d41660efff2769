import type { ManifestShape } from './shape.ts';

/** A file of the capsule that the manifest names, with the key that names it. */
export interface ManifestFileReference {
  /** Key path in Capsule.toml, such as `component[0].wasm`. */
  readonly key: string;
  /** Path relative to the capsule root, already checked to stay inside it. */
  readonly path: string;
}

/**
 * Every file inside the capsule that the manifest names: component `wasm` files, context files,
 * skills, and `./`-relative commands of components and MCP servers. Packing and unpacking use
 * it to refuse a capsule whose manifest names a missing file. Pure; never throws.
 */
export function manifestFileReferences(manifest: ManifestShape): ManifestFileReference[] {
  const references: ManifestFileReference[] = [];
  const command = (key: string, value: string | undefined): void => {
    if (value?.startsWith('./') === true) references.push({ key, path: value.slice(2) });
  };
  (manifest.component ?? []).forEach((component, index) => {
    if (component.wasm !== undefined) references.push({ key: `component[${index}].wasm`, path: component.wasm });
    command(`component[${index}].process.command`, component.process?.command);
  });
  (manifest.mcp_server ?? []).forEach((server, index) => command(`mcp_server[${index}].command`, server.command));
  (manifest.context_file ?? []).forEach((file, index) => references.push({ key: `context_file[${index}].file`, path: file.file }));
  (manifest.skill ?? []).forEach((skill, index) => references.push({ key: `skill[${index}].file`, path: skill.file }));
  return references;
}
