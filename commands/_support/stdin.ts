import { createInterface } from 'node:readline';

/** The lines of standard input, without their line endings. */
export async function* readStdinLines(): AsyncGenerator<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
  }
}
