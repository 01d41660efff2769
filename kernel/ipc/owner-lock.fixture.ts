// Test fixture (not part of the kernel): a child process that takes the owner lock of the home
// given as its first argument, prints "locked" (or "held"), then idles until it is killed.
import { acquireOwnerLock } from './owner-lock.ts';

const home = process.argv[2];
if (home === undefined) throw new Error('usage: owner-lock.fixture.ts <home>');
const lock = await acquireOwnerLock(home, { role: 'command' });
process.stdout.write(lock === null ? 'held\n' : 'locked\n');
setInterval(() => undefined, 1 << 30);
