import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppLogger, boundedLogStream, createLogDestination, createRootLogger, formatAsText, LOG_BUFFER_MAX_BYTES, logLinesDropped, LogLevelSetting } from './app-logger';

/** The logger on a destination that keeps its lines (pino writes one JSON line per call). */
function capture(level: LogLevelSetting = 'info') {
  const lines: string[] = [];
  const logger = new AppLogger(createRootLogger(level, { write: (line: string) => void lines.push(line) }));
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('AppLogger (pino)', () => {
  it('writes one JSON line per call: level name, time, pid, context, message; objects become fields', () => {
    const { logger, parsed } = capture();
    logger.log('hello', 'Bootstrap');
    logger.log({ route: '/a', status: 200 }, 'Access');
    expect(parsed()).toEqual([
      { level: 'info', time: expect.any(Number), pid: process.pid, context: 'Bootstrap', msg: 'hello' },
      { level: 'info', time: expect.any(Number), pid: process.pid, context: 'Access', route: '/a', status: 200 },
    ]);
  });

  it('honours LOG_LEVEL: nothing below it is written, and silent writes nothing', () => {
    const warn = capture('warn');
    warn.logger.log('info line', 'X');
    warn.logger.debug('debug line', 'X');
    warn.logger.error('error line', 'X');
    expect(warn.parsed().map((line) => line.msg)).toEqual(['error line']);
    const silent = capture('silent');
    silent.logger.error('nothing', 'X');
    expect(silent.lines).toEqual([]);
  });

  it('censors secrets wherever a logged object carries them (top level and one level down)', () => {
    const { logger, lines } = capture();
    logger.log({ password: 'hunter2 secret', dto: { newPassword: 'another secret', refreshToken: 'rt_secret' }, headers: { authorization: 'Bearer eyJsecret', cookie: 's=secret', 'x-api-key': 'ucp_secret' } }, 'Careless');
    const text = lines.join('');
    for (const secret of ['hunter2 secret', 'another secret', 'rt_secret', 'eyJsecret', 's=secret', 'ucp_secret']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });

  it("moves Nest's start-up chatter (modules, routes) to debug: a default run prints a few lines", () => {
    const info = capture('info');
    info.logger.log('Mapped {/api/v1/users/me, GET} route', 'RouterExplorer');
    info.logger.log('UsersModule dependencies initialized', 'InstanceLoader');
    info.logger.log('User Centre listening on http://127.0.0.1:3000', 'Bootstrap');
    expect(info.parsed().map((line) => line.context)).toEqual(['Bootstrap']);
    const debug = capture('debug');
    debug.logger.log('Mapped {/api/v1/users/me, GET} route', 'RouterExplorer');
    expect(debug.parsed()).toEqual([expect.objectContaining({ level: 'debug', context: 'RouterExplorer' })]);
  });

  it('keeps an error\'s stack (Nest passes it as the second argument) in the line, never in a second one', () => {
    const { logger, parsed } = capture();
    logger.error('it broke', 'Error: it broke\n    at somewhere', 'Test');
    logger.error(new Error('thrown'), 'Test');
    const [first, second] = parsed();
    expect(first).toMatchObject({ level: 'error', context: 'Test', msg: 'it broke', stack: 'Error: it broke\n    at somewhere' });
    expect(second).toMatchObject({ level: 'error', msg: 'thrown', err: expect.objectContaining({ message: 'thrown' }) });
  });

  it('formats a line as text for LOG_FORMAT=text (the access line keeps its own wording)', () => {
    const line = JSON.stringify({ level: 'info', time: Date.UTC(2026, 11, 2, 7, 0, 0), pid: 1, context: 'Access', requestId: 'r1', msg: 'GET /health/live 200 0.4ms req=r1' });
    expect(formatAsText(line)).toBe('2026-12-02T07:00:00.000Z  INFO [Access] GET /health/live 200 0.4ms req=r1\n');
    const withStack = JSON.stringify({ level: 'error', time: 0, context: 'Errors', msg: 'boom', stack: 'Error: boom\n    at x', userId: 'u1' });
    expect(formatAsText(withStack)).toBe('1970-01-01T00:00:00.000Z ERROR [Errors] boom {"userId":"u1"}\nError: boom\n    at x\n');
  });

  it('writes to stdout and stderr through asynchronous destinations (sonic-boom, not one write() per line)', () => {
    const destination = createLogDestination(true) as unknown as { streams: { level: number; stream: { sync?: boolean; fd?: number } }[] };
    expect(destination.streams.map(({ stream }) => [stream.fd, stream.sync])).toEqual([
      [1, false],
      [2, false],
    ]);
  });
});

/** Linux's default pipe capacity: what the writer hands to the kernel before its next write blocks. */
const PIPE_CAPACITY = 64 * 1024;

/**
 * The log buffer's bound, on a disk that takes nothing: a named pipe nobody reads, opened blocking, so
 * sonic-boom's write on the libuv pool fills the pipe and then blocks, as a saturated disk or a stuck
 * log collector would. 12 MB of lines are logged over many event-loop turns (the pool could drain
 * between them if it could).
 */
describe('The log buffer (LOG_BUFFER_MAX_BYTES, 4 MB a stream)', () => {
  let dir: string;
  let readEnd: number;
  let writeEnd: number;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'uc-log-'));
    const fifo = join(dir, 'stuck-disk');
    execFileSync('mkfifo', [fifo]);
    readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    writeEnd = openSync(fifo, constants.O_WRONLY);
  });
  afterAll(() => {
    closeSync(readEnd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Everything in the pipe now, read until it stays empty for `quietMs`. */
  async function drain(quietMs: number): Promise<string> {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(1024 * 1024);
    for (let quietSince = Date.now(); Date.now() - quietSince < quietMs; ) {
      try {
        const read = readSync(readEnd, buffer);
        if (read > 0) {
          chunks.push(Buffer.from(buffer.subarray(0, read)));
          quietSince = Date.now();
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  it('past the bound drops whole lines and counts each one, holding no more than the bound while the disk takes nothing', async () => {
    const stream = boundedLogStream(writeEnd);
    const drops: string[] = [];
    stream.on('drop', (line: string) => drops.push(line));
    const logger = createRootLogger('info', stream);
    const droppedBefore = logLinesDropped();
    const LINES = 12_000;
    for (let n = 0; n < LINES; n++) {
      logger.info({ n, pad: 'x'.repeat(1000) }, 'a line of about 1.1 kB');
      if (n % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const dropped = logLinesDropped() - droppedBefore;
    expect(dropped).toBe(drops.length);
    expect(dropped).toBeGreaterThan(LINES / 2);

    // Now the disk takes everything: what arrives is exactly what was not dropped, every line whole.
    const arrived = await drain(500);
    const lines = arrived.split('\n').filter(Boolean);
    expect(lines.length + dropped).toBe(LINES);
    const numbers = lines.map((line) => (JSON.parse(line) as { n: number }).n);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(drops.map((line) => (JSON.parse(line) as { n: number }).n)).size).toBe(dropped);
    // All that was kept had to wait in memory or in the pipe while nothing was read: at most the bound
    // and the pipe's capacity — and the bound was used, not a smaller one.
    const kept = Buffer.byteLength(arrived);
    expect(kept).toBeLessThanOrEqual(LOG_BUFFER_MAX_BYTES + PIPE_CAPACITY);
    expect(kept).toBeGreaterThan(LOG_BUFFER_MAX_BYTES - 2 * 1024);
    stream.destroy();
  }, 30_000);
});

describe('The per-request logger (Fastify, request.log)', () => {
  it('censors secret-named fields at the top level and in headers, with explicit (cheap) paths only', () => {
    const { REQUEST_REDACT_PATHS } = require('./app-logger') as typeof import('./app-logger');
    expect(REQUEST_REDACT_PATHS.some((path) => path.includes('*'))).toBe(false);
    const lines: string[] = [];
    const logger = createRootLogger('info', { write: (line: string) => void lines.push(line) }, REQUEST_REDACT_PATHS).child({ requestId: 'r1' });
    logger.info({ password: 'p secret', headers: { authorization: 'Bearer t-secret', cookie: 'c-secret', 'x-api-key': 'k-secret' }, req: { headers: { authorization: 'Bearer r-secret' } } });
    for (const secret of ['p secret', 't-secret', 'c-secret', 'k-secret', 'r-secret']) expect(lines.join('')).not.toContain(secret);
    expect(JSON.parse(lines[0])).toMatchObject({ requestId: 'r1' });
  });
});
