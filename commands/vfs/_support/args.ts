import { Args } from '@oclif/core';

/** The session argument every `astrid vfs` command except `session open` takes first. */
export const sessionArg = Args.string({ description: 'Session id, as printed by `astrid vfs session open`', required: true });

/** What a path argument means, shared by the help of every `astrid vfs` command. */
export const PATH_HELP = 'Virtual path inside the session: POSIX, "/" is the lower directory\'s root';
