import { AppLogger, createLogDestination, createRootLogger, formatAsText, LogLevelSetting } from './app-logger';

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
