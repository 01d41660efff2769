import { Args } from '@oclif/core';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ErrorCode, KernelError } from '../../kernel/errors/index.ts';
import { CapsuleIdSchema } from '../../kernel/events/index.ts';
import * as v from 'valibot';
import { AstridCommand } from '../_support/base.ts';

/** The result of `astrid capsule new`. */
export interface CapsuleNewResult {
  readonly name: string;
  readonly dir: string;
  readonly files: readonly string[];
}

const manifest = (name: string): string => `# ${name}: an Astrid capsule. See capsules/README.md in Astrid for every key.
[package]
name = "${name}"
version = "0.1.0"
description = "Greets whoever it is given"

[[component]]
id = "main"
wasm = "${name}.wasm"

[capabilities]
kv = true

[[tool]]
name = "greet"
description = "Answers with a greeting naming the input's name"
input_schema = { type = "object", properties = { name = { type = "string" } }, required = ["name"] }

[limits]
call_timeout_ms = 5000
`;

const source = `// The capsule's code, in AssemblyScript against the Astrid SDK. Build with \`astrid build .\`.
import { JSON } from "json-as";
import { inputString, kvGet, kvSet, outputString } from "astrid-sdk";

@json
class GreetInput {
  name: string = "";
}

@json
class Greeting {
  text: string = "";
  count: i32 = 0;
}

// greet: {"name": "zoë"} → {"text": "Hello, zoë!", "count": <how many greetings so far>}
export function greet(): i32 {
  const req = JSON.parse<GreetInput>(inputString());
  const seen = kvGet("greetings");
  const count = (seen !== null ? I32.parseInt(seen) : 0) + 1;
  kvSet("greetings", count.toString());
  const out = new Greeting();
  out.text = "Hello, " + req.name + "!";
  out.count = count;
  outputString(JSON.stringify<Greeting>(out));
  return 0;
}
`;

/** `astrid capsule new`: scaffolds an AssemblyScript capsule using the SDK. */
export default class CapsuleNew extends AstridCommand {
  static override summary = 'Scaffold a new AssemblyScript capsule';
  static override description = 'Creates <name>/Capsule.toml and <name>/assembly/index.ts whose `greet` answers with a greeting naming the input\'s `name`. Build it with `astrid build <name>`.';
  static override examples = ['<%= config.bin %> capsule new hello', '<%= config.bin %> build ./hello'];
  static override args = { name: Args.string({ description: 'Capsule id (lowercase letters, digits, "-")', required: true }) };

  async run(): Promise<CapsuleNewResult> {
    const { args } = await this.parse(CapsuleNew);
    const parsed = v.safeParse(CapsuleIdSchema, args.name);
    if (!parsed.success) throw new KernelError(ErrorCode.InvalidArgument, `Cannot create capsule "${args.name}": ${parsed.issues[0]?.message ?? 'invalid id'}`);
    const dir = resolve(args.name);
    if (await stat(dir).then(() => true, () => false)) {
      throw new KernelError(ErrorCode.PathExists, `Cannot create capsule "${args.name}" as "${dir}" already exists`, { details: { path: dir } });
    }
    await mkdir(join(dir, 'assembly'), { recursive: true });
    const files = { 'Capsule.toml': manifest(args.name), 'assembly/index.ts': source, '.gitignore': '*.wasm\n*.capsule\n' };
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text, { flag: 'wx' });
    this.log(`Created ${dir}; build it with \`astrid build ${args.name}\``);
    return { name: args.name, dir, files: Object.keys(files) };
  }
}
