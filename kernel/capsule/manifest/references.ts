import { mergeCapabilities } from './capabilities.ts';
import type { ManifestShape } from './shape.ts';

/** One broken cross-reference: where it is and what was expected there. */
export interface ReferenceProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

function duplicates<T>(
  items: readonly T[] | undefined,
  key: (item: T) => string,
  table: string,
  field: string,
): ReferenceProblem[] {
  const seen = new Set<string>();
  const problems: ReferenceProblem[] = [];
  (items ?? []).forEach((item, index) => {
    const value = key(item);
    if (seen.has(value)) problems.push({ path: [table, index, field], message: `expected a unique ${field}, but "${value}" is used twice` });
    seen.add(value);
  });
  return problems;
}

function componentProblems(manifest: ManifestShape): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  (manifest.component ?? []).forEach((component, index) => {
    const kinds = Number(component.wasm !== undefined) + Number(component.process !== undefined);
    if (kinds !== 1) {
      problems.push({ path: ['component', index], message: 'expected exactly one of "wasm" or "process"' });
    }
    const command = component.process?.command;
    if (command !== undefined && !mergeCapabilities(manifest.capabilities, component.capabilities).host_process.includes(command)) {
      problems.push({
        path: ['component', index, 'process', 'command'],
        message: `expected a command listed in host_process (capsule or component capabilities), but "${command}" is not`,
      });
    }
  });
  return problems;
}

function handlerProblems(manifest: ManifestShape): ReferenceProblem[] {
  const wasmIds = (manifest.component ?? []).filter((c) => c.wasm !== undefined).map((c) => c.id);
  const problems: ReferenceProblem[] = [];
  (manifest.handler ?? []).forEach((handler, index) => {
    if (handler.component === undefined) {
      if (wasmIds.length !== 1) {
        problems.push({
          path: ['handler', index],
          message: `expected a "component" key, as the capsule has ${wasmIds.length} wasm components`,
        });
      }
    } else if (!wasmIds.includes(handler.component)) {
      problems.push({
        path: ['handler', index, 'component'],
        message: `expected the id of a wasm component, but "${handler.component}" is not one`,
      });
    }
  });
  return problems;
}

function mcpProblems(manifest: ManifestShape): ReferenceProblem[] {
  const allowed = manifest.capabilities?.host_process ?? [];
  const envNames = Object.keys(manifest.env ?? {});
  const problems: ReferenceProblem[] = [];
  (manifest.mcp_server ?? []).forEach((server, index) => {
    if (!allowed.includes(server.command)) {
      problems.push({
        path: ['mcp_server', index, 'command'],
        message: `expected a command listed in capabilities.host_process, but "${server.command}" is not`,
      });
    }
    (server.env ?? []).forEach((name, envIndex) => {
      if (!envNames.includes(name)) {
        problems.push({ path: ['mcp_server', index, 'env', envIndex], message: `expected the name of an [env] entry, but "${name}" is not one` });
      }
    });
  });
  return problems;
}

function envProblems(manifest: ManifestShape): ReferenceProblem[] {
  const problems: ReferenceProblem[] = [];
  for (const [name, entry] of Object.entries(manifest.env ?? {})) {
    if (entry.default !== undefined && entry.secret === true) {
      problems.push({ path: ['env', name, 'default'], message: 'expected no default for a secret entry' });
    } else if (entry.default !== undefined && entry.required === true) {
      problems.push({ path: ['env', name, 'default'], message: 'expected no default for a required entry' });
    }
  }
  return problems;
}

function limitProblems(manifest: ManifestShape): ReferenceProblem[] {
  const limits = manifest.limits;
  return limits?.memory_pages !== undefined && limits.memory_bytes !== undefined
    ? [{ path: ['limits', 'memory_bytes'], message: 'expected either memory_pages or memory_bytes, not both' }]
    : [];
}

/**
 * Every broken cross-reference of a manifest whose tables are valid: duplicate ids and names,
 * components with both or neither of `wasm`/`process`, process commands and MCP servers not
 * listed in `host_process`, handlers naming no wasm component, unknown env names, defaults on
 * secret or required env entries, and both memory limits at once. Pure; never throws.
 */
export function referenceProblems(manifest: ManifestShape): ReferenceProblem[] {
  return [
    ...duplicates(manifest.component, (c) => c.id, 'component', 'id'),
    ...componentProblems(manifest),
    ...handlerProblems(manifest),
    ...duplicates(manifest.tool, (t) => t.name, 'tool', 'name'),
    ...duplicates(manifest.mcp_server, (s) => s.id, 'mcp_server', 'id'),
    ...mcpProblems(manifest),
    ...duplicates(manifest.context_file, (f) => f.name, 'context_file', 'name'),
    ...duplicates(manifest.skill, (s) => s.name, 'skill', 'name'),
    ...envProblems(manifest),
    ...limitProblems(manifest),
  ];
}
