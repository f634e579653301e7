import type { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Level, Logger as Pino } from 'pino';

export type LogLevelSetting = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Fields censored wherever a logged object carries them, at the top level or one level down (a
 * request's headers, a DTO). Nothing we log on purpose holds them — the access line is method,
 * route template, status, duration and ids — this is the net under a careless `logger.log(dto)`.
 */
const SECRET_FIELDS = ['password', 'oldPassword', 'newPassword', 'token', 'accessToken', 'refreshToken', 'apiKey', 'smsCode', 'emailCode', 'captchaText', 'idCardNumber', 'realName', 'authorization', 'cookie', 'registrationKey'];
export const REDACT_PATHS = [...SECRET_FIELDS, ...SECRET_FIELDS.map((field) => `*.${field}`), '["x-api-key"]', '*["x-api-key"]'];
/**
 * The same net for the per-request logger, without wildcards: a wildcard path costs ~10 µs per
 * line in pino's redaction, which the access line (fixed fields of our own) would pay on every
 * request; explicit paths cost nothing measurable.
 */
export const REQUEST_REDACT_PATHS = [...SECRET_FIELDS, '["x-api-key"]', ...['headers', 'req.headers'].flatMap((at) => ['authorization', 'cookie', '["x-api-key"]'].map((field) => `${at}${field.startsWith('[') ? '' : '.'}${field}`))];

/** Nest's start-up chatter (one line per module, controller and route: ~65 lines); shown at LOG_LEVEL=debug only. */
const STARTUP_CHATTER = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication']);

/** A pino line (JSON) as text for people: `2026-12-02T07:37:59.123Z  INFO [Access] GET /users/me 200 1.2ms`. */
export function formatAsText(line: string): string {
  const { level, time, context, msg, pid: _pid, hostname: _host, err, stack, ...fields } = JSON.parse(line) as Record<string, unknown>;
  if (typeof msg === 'string' && msg.includes(`req=${String(fields.requestId)}`)) delete fields.requestId; // the access line says it already
  const extra = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
  const trace = typeof stack === 'string' ? `\n${stack}` : err && typeof (err as { stack?: unknown }).stack === 'string' ? `\n${(err as { stack: string }).stack}` : '';
  return `${new Date(Number(time)).toISOString()} ${String(level).toUpperCase().padStart(5)} ${context ? `[${String(context)}] ` : ''}${msg ?? ''}${extra}${trace}\n`;
}

/** Most bytes of log lines waiting for the disk, per stream (stdout, stderr); more are dropped and counted. */
export const LOG_BUFFER_MAX_BYTES = 4 * 1024 * 1024;
let droppedLogLines = 0;
/** Lines dropped because the log buffer was full, since the process started. */
export function logLinesDropped(): number {
  return droppedLogLines;
}

/**
 * Where the lines go: stdout, errors and worse to stderr, through sonic-boom's asynchronous writes
 * (what arrives while a write is in flight leaves in the next one, so a burst of access lines costs
 * a few syscalls, not one each). pino flushes them synchronously when the process exits.
 */
export function createLogDestination(json: boolean): DestinationStream {
  const stream = (fd: 1 | 2) => {
    const sonic = boundedLogStream(fd);
    return json ? sonic : { write: (line: string) => sonic.write(formatAsText(line)) };
  };
  return pino.multistream(
    [
      { level: 'trace', stream: stream(1) },
      { level: 'error', stream: stream(2) },
    ],
    { dedupe: true },
  );
}

/**
 * An asynchronous writer to `fd` that holds at most `maxBytes` waiting for the disk. Bounded: the
 * writes run on the libuv pool, whose threads yield to the event loop (THREADPOOL_NICENESS), so on a
 * saturated machine lines can arrive faster than they leave; the soak (issue 21) saw 11 MB waiting
 * after 25 s and growing. Past the bound a line is dropped, whole, and counted (logLinesDropped).
 */
export function boundedLogStream(fd: number, maxBytes: number = LOG_BUFFER_MAX_BYTES): ReturnType<typeof pino.destination> {
  const sonic = pino.destination({ dest: fd, sync: false, maxLength: maxBytes });
  sonic.on('drop', () => (droppedLogLines += 1));
  return sonic;
}

/** A root logger: JSON lines with level names, the pid and redaction paths (the app's: REDACT_PATHS; Fastify's per-request one: REQUEST_REDACT_PATHS). */
export function createRootLogger(level: LogLevelSetting, destination: DestinationStream, redactPaths: string[] = REDACT_PATHS): Pino {
  return pino(
    {
      level,
      base: { pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: '[redacted]' },
    },
    destination,
  );
}

/**
 * Nest's LoggerService on pino: `new Logger('Context').log(...)` anywhere in the code lands here,
 * as a line of the child logger for that context. Objects become fields of the line; an Error its
 * `err`; Nest's start-up chatter goes to debug.
 */
export class AppLogger implements LoggerService {
  private readonly children = new Map<string, Pino>();

  constructor(readonly root: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** The child logger of one context (kept, so a context costs one child for the process's life). */
  child(context: string): Pino {
    let child = this.children.get(context);
    if (!child) this.children.set(context, (child = this.root.child({ context })));
    return child;
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const context = params.length && typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    if (level === 'info' && context && STARTUP_CHATTER.has(context)) level = 'debug';
    const logger = context ? this.child(context) : this.root;
    if (!logger.isLevelEnabled(level)) return;
    if (message instanceof Error) logger[level]({ err: message }, message.message);
    else if (message !== null && typeof message === 'object') logger[level](message as object);
    else if (typeof params[0] === 'string' && params[0].includes('\n')) logger[level]({ stack: params[0] }, String(message)); // Nest's error(message, stack)
    else logger[level](String(message));
  }
}
