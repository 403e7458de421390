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
  'api_key',
  '*.api_key',
  'secret_hash',
  '*.secret_hash',
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

/**
 * pino runs the redaction of the `*.key` paths on every field of a line that no path names, strings
 * and numbers included, parsing each path again each time (its redactor's cost, some 10 µs a line).
 * A string, number or boolean has no keys to redact: it is written as that redactor would write it
 * (JSON.stringify) without the walk; objects, arrays and anything else still go through it.
 */
function skipRedactionOfPrimitives(logger: pino.Logger): void {
  const stringifiers = (logger as unknown as Record<symbol, Record<symbol, ((value: unknown, ...rest: unknown[]) => string) | undefined> | undefined>)[pino.symbols.stringifiersSym];
  const redactNested = stringifiers?.[pino.symbols.wildcardFirstSym];
  if (!stringifiers || !redactNested) return;
  stringifiers[pino.symbols.wildcardFirstSym] = (value, ...rest) => {
    const type = typeof value;
    return type === 'string' || type === 'number' || type === 'boolean' ? JSON.stringify(value) : redactNested(value, ...rest);
  };
}
skipRedactionOfPrimitives(rootLogger);

/** A child logger for one module, so every line says where it came from. */
export function moduleLogger(module: string): pino.Logger {
  return rootLogger.child({ module });
}
