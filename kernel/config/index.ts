export { resolveHomePath } from './home-path.ts';
export { resolveLogLevel } from './log-level.ts';
