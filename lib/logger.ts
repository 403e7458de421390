import pino from 'pino';

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'password_hash',
  '*.password_hash',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'secret',
  '*.secret',
];

/** JSON lines on stderr, so a command's own output on stdout stays clean. */
export const rootLogger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  },
  pino.destination(2),
);

/** A child logger for one module, so every line says where it came from. */
export function moduleLogger(module: string): pino.Logger {
  return rootLogger.child({ module });
}
