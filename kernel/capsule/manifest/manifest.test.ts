import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/support/temp-dir.ts';
import { ErrorCode, isKernelError } from '../../errors/index.ts';
import { FULL_MANIFEST, minimalManifest } from './fixtures.test-support.ts';
import { loadManifest, manifestFileReferences, mergedCapabilities, parseManifest } from './index.ts';

function rejection(text: string): { key: unknown; message: string; details: Record<string, unknown> } {
  try {
    parseManifest(text, { source: 'test/Capsule.toml' });
  } catch (error) {
    assert.ok(isKernelError(error, ErrorCode.ManifestInvalid), `expected MANIFEST_INVALID, got ${String(error)}`);
    return { key: error.details?.['key'], message: error.message, details: { ...error.details } };
  }
  assert.fail('expected parseManifest() to throw');
}

const BASE = minimalManifest();

describe('parseManifest()', () => {
  test('`parseManifest()` returns every table as written when the manifest uses all of them', () => {
    const manifest = parseManifest(FULL_MANIFEST);

    assert.equal(manifest.package.name, 'weather-tools');
    assert.equal(manifest.package['astrid-version'], '>=0.1.0 <2');
    assert.deepEqual(manifest.component?.map((c) => c.id), ['main', 'helper']);
    assert.deepEqual(manifest.component?.[1]?.process, { command: 'node', args: ['helper.js', '--quiet'] });
    assert.deepEqual(manifest.capabilities?.fs, [
      { path: 'data', rights: ['read', 'list'] },
      { path: '.', rights: ['read'] },
    ]);
    assert.deepEqual(manifest.handler, [{ subject: 'weather.v1.request.*', function: 'handle_request', component: 'main' }]);
    assert.deepEqual(manifest.tool?.[0]?.input_schema, {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    });
    assert.deepEqual(manifest.env, {
      API_KEY: { description: 'Weather API key', required: true, secret: true },
      UNITS: { description: 'metric or imperial', default: 'metric' },
    });
    assert.equal(manifest.mcp_server?.[0]?.command, './bin/mcp-server');
    assert.deepEqual(manifest.context_file, [{ name: 'weather-guidance', file: 'docs/WEATHER.md' }]);
    assert.equal(manifest.skill?.[0]?.file, 'skills/forecast.md');
    assert.deepEqual(manifest.limits, {
      call_timeout_ms: 5000,
      memory_pages: 256,
      publish_payload_bytes: 65536,
      publish_msgs_per_sec: 100,
      publish_bytes_per_sec: 1048576,
      subscriptions: 16,
    });
  });

  test('`parseManifest()` fills in no defaults when optional keys are absent', () => {
    const manifest = parseManifest(BASE);

    assert.deepEqual(manifest, { package: { name: 'hello', version: '0.1.0' }, component: [{ id: 'main', wasm: 'hello.wasm' }] });
  });

  const cases: readonly { name: string; text: string; key: string; says: RegExp }[] = [
    { name: 'an unknown top-level table', text: `${BASE}\n[extras]\na = 1\n`, key: 'extras', says: /is unknown/ },
    { name: 'an unknown key in a component', text: `${BASE}file = "x.wasm"\n`, key: 'component[0].file', says: /is unknown/ },
    { name: 'a missing package version', text: BASE.replace('version = "0.1.0"\n', ''), key: 'package.version', says: /is missing/ },
    { name: 'a bad capsule name', text: BASE.replace('"hello"', '"Hello_World"'), key: 'package.name', says: /capsule id.*"Hello_World"/ },
    { name: 'a non-semver version', text: BASE.replace('0.1.0', 'v1'), key: 'package.version', says: /semver version/ },
    { name: 'a bad astrid-version range', text: BASE.replace('[[component]]', 'astrid-version = "soon"\n\n[[component]]'), key: 'package.astrid-version', says: /semver range/ },
    { name: 'a wrong type', text: BASE.replace('"main"', '42'), key: 'component[0].id', says: /expected a string, received 42/ },
    { name: 'a wasm path with ".."', text: `${BASE}\n[[component]]\nid = "b"\nwasm = "../b.wasm"\n`, key: 'component[1].wasm', says: /inside the capsule.*"\.\."/ },
    { name: 'an absolute wasm path', text: minimalManifest('hello', '/etc/x.wasm'), key: 'component[0].wasm', says: /absolute/ },
    { name: 'a skill file with a "." segment', text: `${BASE}\n[[skill]]\nname = "s"\nfile = "./s.md"\n`, key: 'skill[0].file', says: /"\." segment/ },
    { name: 'a component with both wasm and process', text: `${BASE}process = { command = "node" }\n`, key: 'component[0]', says: /exactly one of/ },
    { name: 'a process command not in host_process', text: `${BASE}\n[[component]]\nid = "p"\nprocess = { command = "python3" }\n`, key: 'component[1].process.command', says: /host_process/ },
    { name: 'duplicate component ids', text: `${BASE}\n[[component]]\nid = "main"\nwasm = "b.wasm"\n`, key: 'component[1].id', says: /"main" is used twice/ },
    { name: 'a bad subject pattern', text: `${BASE}\n[capabilities]\nipc_publish = ["a.>.b"]\n`, key: 'capabilities.ipc_publish[0]', says: /subject pattern/ },
    { name: 'a kv of the wrong kind', text: `${BASE}\n[capabilities]\nkv = "yes"\n`, key: 'capabilities.kv', says: /true, false or an array/ },
    { name: 'an unknown fs right', text: `${BASE}\n[capabilities]\nfs = [{ path = "a", rights = ["exec"] }]\n`, key: 'capabilities.fs[0].rights[0]', says: /one of "read"/ },
    { name: 'an fs path outside the workspace', text: `${BASE}\n[capabilities]\nfs = [{ path = "a/../..", rights = ["read"] }]\n`, key: 'capabilities.fs[0].path', says: /workspace/ },
    { name: 'a bad net host', text: `${BASE}\n[capabilities]\nnet = ["http://x.example"]\n`, key: 'capabilities.net[0]', says: /host such as/ },
    { name: 'a handler naming no component', text: `${BASE}\n[[handler]]\nsubject = "a.*"\nfunction = "f"\ncomponent = "nope"\n`, key: 'handler[0].component', says: /wasm component/ },
    { name: 'a bad exported function name', text: `${BASE}\n[[handler]]\nsubject = "a.*"\nfunction = "on-msg"\n`, key: 'handler[0].function', says: /exported function name/ },
    { name: 'a tool schema that is not an object schema', text: `${BASE}\n[[tool]]\nname = "t"\ndescription = "d"\ninput_schema = { type = "string" }\n`, key: 'tool[0].input_schema', says: /type = "object"/ },
    { name: 'a lower-case env name', text: `${BASE}\n[env.api_key]\nsecret = true\n`, key: 'env.api_key', says: /env name/ },
    { name: 'an env name valibot would skip', text: `${BASE}\n[env.prototype]\nsecret = true\n`, key: 'env.prototype', says: /env name/ },
    { name: 'a secret with a default', text: `${BASE}\n[env.TOKEN]\nsecret = true\ndefault = "x"\n`, key: 'env.TOKEN.default', says: /secret/ },
    { name: 'an MCP server command not in host_process', text: `${BASE}\n[[mcp_server]]\nid = "m"\ncommand = "npx"\n`, key: 'mcp_server[0].command', says: /host_process/ },
    { name: 'an MCP server naming an unknown env entry', text: `${BASE}\n[capabilities]\nhost_process = ["npx"]\n\n[[mcp_server]]\nid = "m"\ncommand = "npx"\nenv = ["NOPE"]\n`, key: 'mcp_server[0].env[0]', says: /\[env\] entry/ },
    { name: 'a fractional limit', text: `${BASE}\n[limits]\ncall_timeout_ms = 1.5\n`, key: 'limits.call_timeout_ms', says: /integer/ },
    { name: 'an out-of-range limit', text: `${BASE}\n[limits]\nmemory_pages = 70000\n`, key: 'limits.memory_pages', says: /at most 65536/ },
    { name: 'both memory limits', text: `${BASE}\n[limits]\nmemory_pages = 2\nmemory_bytes = 131072\n`, key: 'limits.memory_bytes', says: /not both/ },
  ];
  for (const { name, text, key, says } of cases) {
    test(`\`parseManifest()\` names "${key}" when the manifest has ${name}`, () => {
      const error = rejection(text);

      assert.equal(error.key, key);
      assert.match(error.message, says);
      assert.match(error.message, /^Cannot load manifest "test\/Capsule\.toml" as key "/);
    });
  }

  test('`parseManifest()` reports the line and column when the TOML is malformed', () => {
    const error = rejection('[package]\nname = "a"\nversion = \n');

    assert.equal(error.details['line'], 3);
    assert.equal(typeof error.details['column'], 'number');
    assert.match(error.message, /at line 3, column \d+/);
  });

  test('`parseManifest()` refuses a __proto__ key when the TOML tries to pollute prototypes', () => {
    const error = rejection(`${BASE}\n[package.__proto__]\npolluted = true\n`);

    assert.match(error.message, /unsafe/);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('`parseManifest()` counts every problem when there are several', () => {
    const error = rejection('[package]\nname = "A"\nversion = "x"\nextra = 1\n');

    assert.equal(error.details['problems'], 3);
    assert.match(error.message, /\(and 2 more\)$/);
  });

  test('`parseManifest()` refuses text over 1 MiB when the manifest is huge', () => {
    const error = rejection(`${BASE}# ${'x'.repeat(1024 * 1024)}\n`);

    assert.match(error.message, /larger than/);
  });
});

describe('loadManifest()', () => {
  test('`loadManifest()` returns null when the directory has no Capsule.toml', async () => {
    await using dir = await tempDir('manifest-');

    assert.equal(await loadManifest(dir.path), null);
    assert.equal(await loadManifest(join(dir.path, 'missing')), null);
  });

  test('`loadManifest()` parses Capsule.toml and names the file when it is invalid', async () => {
    await using dir = await tempDir('manifest-');
    await writeFile(join(dir.path, 'Capsule.toml'), BASE);
    await mkdir(join(dir.path, 'bad'));
    await writeFile(join(dir.path, 'bad', 'Capsule.toml'), `${BASE}oops = 1\n`);

    assert.equal((await loadManifest(dir.path))?.package.name, 'hello');
    await assert.rejects(loadManifest(join(dir.path, 'bad')), (error) => {
      assert.ok(isKernelError(error, ErrorCode.ManifestInvalid));
      assert.ok(error.message.includes(join(dir.path, 'bad', 'Capsule.toml')));
      return true;
    });
  });

  test('`loadManifest()` refuses a manifest when it is not UTF-8', async () => {
    await using dir = await tempDir('manifest-');
    await writeFile(join(dir.path, 'Capsule.toml'), Buffer.from([0x5b, 0xff, 0xfe, 0x5d]));

    await assert.rejects(loadManifest(dir.path), (error) => isKernelError(error, ErrorCode.ManifestInvalid));
  });
});

describe('mergedCapabilities()', () => {
  test('`mergedCapabilities()` unions the capsule and component grants when both have some', () => {
    const manifest = parseManifest(FULL_MANIFEST);

    const caps = mergedCapabilities(manifest, 'main');

    assert.deepEqual(caps, {
      ipc_publish: ['weather.v1.forecast.>', 'weather.v1.status'],
      ipc_subscribe: ['weather.v1.request.*'],
      kv: ['weather-cache'],
      fs: [
        { path: 'data', rights: ['read', 'write', 'list', 'create'] },
        { path: '.', rights: ['read'] },
      ],
      net: ['api.weather.example', '*.tiles.example:443', 'api.backup.example'],
      host_process: ['node', './bin/mcp-server'],
      uplink: false,
    });
  });

  test('`mergedCapabilities()` fills defaults when nothing is granted', () => {
    const caps = mergedCapabilities(parseManifest(BASE), 'main');

    assert.deepEqual(caps, { ipc_publish: [], ipc_subscribe: [], kv: false, fs: [], net: [], host_process: [], uplink: false });
  });

  test('`mergedCapabilities()` returns null when the component does not exist', () => {
    assert.equal(mergedCapabilities(parseManifest(BASE), 'nope'), null);
  });
});

describe('manifestFileReferences()', () => {
  test('`manifestFileReferences()` lists every capsule file the manifest names', () => {
    const references = manifestFileReferences(parseManifest(FULL_MANIFEST));

    assert.deepEqual(references, [
      { key: 'component[0].wasm', path: 'weather.wasm' },
      { key: 'mcp_server[0].command', path: 'bin/mcp-server' },
      { key: 'context_file[0].file', path: 'docs/WEATHER.md' },
      { key: 'skill[0].file', path: 'skills/forecast.md' },
    ]);
  });
});
