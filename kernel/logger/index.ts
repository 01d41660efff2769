export { jsonLogger, silentLogger, type LogFields, type LogLevel, type Logger } from './logger.ts';
