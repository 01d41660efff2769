#!/usr/bin/env node
// The `astrid` executable: oclif loads the compiled commands from dist/commands.
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
