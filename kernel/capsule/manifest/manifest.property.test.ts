import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { parseManifest, type CapsuleManifest } from './index.ts';

// Random valid manifests as plain data (optional keys omitted, never undefined), built so that
// every cross-reference holds; then TOML text via smol-toml's stringify.

type Table = Record<string, unknown>;

const text = fc.string({ unit: 'grapheme', maxLength: 24 });
const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/);
const segment = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}$/);
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const token = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,8}$/), fc.constant('*'));
const pattern = fc
  .tuple(fc.array(token, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([tokens, rest]) => (rest ? [...tokens, '>'] : tokens).join('.'));
const version = fc
  .tuple(fc.nat(999), fc.nat(999), fc.nat(999), fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === undefined ? '' : `-${pre}`}`);
const host = fc.oneof(
  fc.constant('*'),
  fc
    .tuple(fc.boolean(), fc.array(fc.stringMatching(/^[a-z0-9]{1,10}$/), { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
    .map(([star, labels, port]) => `${star ? '*.' : ''}${labels.join('.')}${port === undefined ? '' : `:${port}`}`),
);
const command = fc.oneof(fc.constantFrom('node', 'python3', 'npx'), relPath.map((p) => `./${p}`), relPath.map((p) => `/usr/${p}`));

const capabilities = fc.record(
  {
    ipc_publish: fc.array(pattern, { maxLength: 3 }),
    ipc_subscribe: fc.array(pattern, { maxLength: 3 }),
    kv: fc.oneof(fc.boolean(), fc.array(name, { maxLength: 3 })),
    fs: fc.array(
      fc.record({
        path: fc.oneof(fc.constant('.'), relPath),
        rights: fc.subarray(['read', 'write', 'list', 'create', 'delete'], { minLength: 1 }),
      }),
      { maxLength: 3 },
    ),
    net: fc.array(host, { maxLength: 3 }),
    host_process: fc.array(command, { maxLength: 3 }),
    uplink: fc.boolean(),
  },
  { requiredKeys: [] },
);

const component = fc.record(
  {
    id,
    body: fc.oneof(
      relPath.map((wasm) => ({ wasm })),
      fc
        .record({ command, args: fc.array(text, { maxLength: 3 }) }, { requiredKeys: ['command'] })
        .map((process) => ({ process })),
    ),
    capabilities,
  },
  { requiredKeys: ['id', 'body'] },
);

const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.boolean(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(name, tie('value'), { maxKeys: 3 }),
  ),
})).value;

const envEntry = fc
  .record(
    { description: text, required: fc.boolean(), secret: fc.boolean(), default: text },
    { requiredKeys: [] },
  )
  .map((entry) => {
    if (entry.required === true || entry.secret === true) delete entry.default;
    return entry;
  });

const limits = fc
  .record(
    {
      call_timeout_ms: fc.integer({ min: 1, max: 3_600_000 }),
      memory_pages: fc.integer({ min: 1, max: 65_536 }),
      memory_bytes: fc.integer({ min: 1, max: 65_536 }).map((pages) => pages * 65_536),
      publish_payload_bytes: fc.integer({ min: 1, max: 64 * 1024 ** 2 }),
      publish_msgs_per_sec: fc.integer({ min: 1, max: 1_000_000 }),
      publish_bytes_per_sec: fc.integer({ min: 1, max: 1024 ** 3 }),
      subscriptions: fc.integer({ min: 0, max: 4096 }),
    },
    { requiredKeys: [] },
  )
  .map((l) => {
    if (l.memory_pages !== undefined) delete l.memory_bytes;
    return l;
  });

/** A random valid manifest, as the plain data smol-toml parses it into. */
const manifestData: fc.Arbitrary<Table> = fc
  .record(
    {
      package: fc.record(
        {
          name: id,
          version,
          description: text,
          authors: fc.array(text.filter((s) => s !== ''), { maxLength: 2 }),
          license: fc.constantFrom('MIT', 'Apache-2.0'),
          repository: fc.constantFrom('https://example.org/x', 'https://git.example.com/a/b'),
          'astrid-version': fc.constantFrom('>=0.1.0', '^1.2', '>=0.1.0 <2', '*'),
        },
        { requiredKeys: ['name', 'version'] },
      ),
      component: fc.uniqueArray(component, { selector: (c) => c.id, maxLength: 3 }),
      capabilities,
      handlerSeeds: fc.array(fc.record({ subject: pattern, function: fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/) }), { maxLength: 3 }),
      tool: fc.uniqueArray(
        fc.record({ name, description: text.filter((s) => s !== ''), properties: fc.dictionary(name, json, { maxKeys: 3 }) }),
        { selector: (t) => t.name, maxLength: 2 },
      ),
      env: fc.dictionary(fc.stringMatching(/^[A-Z][A-Z0-9_]{0,10}$/), envEntry, { maxKeys: 3 }),
      mcpSeeds: fc.uniqueArray(fc.record({ id: name, command, args: fc.array(text, { maxLength: 2 }) }), { selector: (s) => s.id, maxLength: 2 }),
      context_file: fc.uniqueArray(fc.record({ name, file: relPath }), { selector: (f) => f.name, maxLength: 2 }),
      skill: fc.uniqueArray(fc.record({ name, description: text, file: relPath }, { requiredKeys: ['name', 'file'] }), { selector: (s) => s.name, maxLength: 2 }),
      limits,
    },
    { requiredKeys: ['package'] },
  )
  .map(({ component: seeds, handlerSeeds, mcpSeeds, tool, capabilities: caps, ...rest }) => {
    const out: Table = { ...rest };
    const hostProcess = new Set<string>(caps?.host_process ?? []);
    const components = (seeds ?? []).map(({ id: cid, body, capabilities: own }) => {
      if ('process' in body) hostProcess.add(body.process.command);
      return own === undefined ? { id: cid, ...body } : { id: cid, ...body, capabilities: own };
    });
    for (const server of mcpSeeds ?? []) hostProcess.add(server.command);
    if (seeds !== undefined) out['component'] = components;
    const wasmIds = components.filter((c) => 'wasm' in c).map((c) => c.id);
    if (handlerSeeds !== undefined && wasmIds.length > 0) {
      out['handler'] = handlerSeeds.map((h, i) =>
        wasmIds.length === 1 && i % 2 === 0 ? h : { ...h, component: wasmIds[i % wasmIds.length] },
      );
    }
    if (tool !== undefined) {
      out['tool'] = tool.map((t) => ({ name: t.name, description: t.description, input_schema: { type: 'object', properties: t.properties } }));
    }
    if (mcpSeeds !== undefined) out['mcp_server'] = mcpSeeds;
    if (caps !== undefined || hostProcess.size > 0) {
      out['capabilities'] = hostProcess.size > 0 ? { ...caps, host_process: [...hostProcess] } : caps;
    }
    return out;
  });

// Where a mutation can go: strict tables (for an unknown key) and leaves outside input_schema.
interface Spot {
  readonly path: readonly (string | number)[];
  readonly value: unknown;
}

function spots(value: unknown, path: readonly (string | number)[] = []): Spot[] {
  const here: Spot = { path, value };
  if (path.at(-1) === 'input_schema') return [here];
  if (Array.isArray(value)) return [here, ...value.flatMap((item, index) => spots(item, [...path, index]))];
  if (typeof value === 'object' && value !== null) {
    return [here, ...Object.entries(value).flatMap(([key, item]) => spots(item, [...path, key]))];
  }
  return [here];
}

function keyPath(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

function setAt(root: Table, path: readonly (string | number)[], value: unknown): Table {
  const copy = structuredClone(root);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1) as string | number] = value;
  return copy;
}

function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return 7;
  if (typeof value === 'number') return 'seven';
  if (typeof value === 'boolean') return 'yes';
  if (Array.isArray(value)) return 'not-an-array';
  return 7;
}

function expectInvalid(run: () => unknown): { key: unknown } {
  try {
    run();
  } catch (error) {
    assert.ok(isKernelError(error, ErrorCode.ManifestInvalid), `expected MANIFEST_INVALID, got ${String(error)}`);
    return { key: error.details?.['key'] };
  }
  assert.fail('expected a MANIFEST_INVALID error');
}

describe('parseManifest() properties', () => {
  test('`parseManifest()` returns the input when a random valid manifest goes through stringify', () => {
    fc.assert(
      fc.property(manifestData, (data) => {
        const parsed: CapsuleManifest = parseManifest(stringify(data));

        assert.deepStrictEqual(parsed, JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 300 },
    );
  });

  test('`parseManifest()` names the key when a random table gets an unknown key', () => {
    const tables = manifestData.chain((data) =>
      fc.constantFrom(
        ...spots(data).filter(
          (s) => typeof s.value === 'object' && s.value !== null && !Array.isArray(s.value) && s.path.at(-1) !== 'input_schema',
        ),
      ).map((spot) => ({ data, spot })),
    );
    fc.assert(
      fc.property(tables, ({ data, spot }) => {
        const mutated = spot.path.length === 0 ? { ...data, zz_unknown: 1 } : setAt(data, spot.path, { ...(spot.value as Table), zz_unknown: 1 });

        const { key } = expectInvalid(() => parseManifest(stringify(mutated)));

        assert.equal(key, keyPath([...spot.path, 'zz_unknown']));
      }),
      { numRuns: 300 },
    );
  });

  test('`parseManifest()` names the key when a random value gets the wrong type', () => {
    const leaves = manifestData.chain((data) =>
      fc.constantFrom(...spots(data).filter((s) => s.path.length > 0)).map((spot) => ({ data, spot })),
    );
    fc.assert(
      fc.property(leaves, ({ data, spot }) => {
        const mutated = setAt(data, spot.path, wrongType(spot.value));

        const { key } = expectInvalid(() => parseManifest(stringify(mutated)));

        assert.equal(key, keyPath(spot.path));
      }),
      { numRuns: 300 },
    );
  });

  test('`parseManifest()` throws only MANIFEST_INVALID when the text is random or corrupted', () => {
    const corrupted = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.tuple(manifestData, fc.nat(), fc.nat(), fc.string({ maxLength: 4 })).map(([data, at, cut, insert]) => {
        const toml = stringify(data);
        const start = at % (toml.length + 1);
        return toml.slice(0, start) + insert + toml.slice(start + (cut % 8));
      }),
    );
    fc.assert(
      fc.property(corrupted, (toml) => {
        try {
          parseManifest(toml);
        } catch (error) {
          assert.ok(isKernelError(error, ErrorCode.ManifestInvalid), `unexpected ${String(error)}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
