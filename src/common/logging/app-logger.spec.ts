import { AppLogger } from './app-logger';

describe('AppLogger', () => {
  let written: string[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    written = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
  });
  afterEach(() => spy.mockRestore());

  it('sends the lines of one event-loop turn in one write, on the next turn, in order', async () => {
    const logger = new AppLogger({ json: true });
    logger.log({ route: '/a' }, 'Access');
    logger.log({ route: '/b' }, 'Access');
    expect(written).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toHaveLength(1);
    const lines = written[0].trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { level: 'log', pid: process.pid, timestamp: expect.any(Number), message: { route: '/a' }, context: 'Access' },
      { level: 'log', pid: process.pid, timestamp: expect.any(Number), message: { route: '/b' }, context: 'Access' },
    ]);
  });

  it('keeps the text format, and flush() writes at once', () => {
    const logger = new AppLogger({ colors: false });
    logger.log('GET /health/live 200', 'Access');
    AppLogger.flush();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/LOG \[Access\] GET \/health\/live 200\n$/);
  });

  it('writes errors and their stack to stderr after the message', () => {
    const errors: string[] = [];
    const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      new AppLogger({ colors: false }).error('it broke', 'Error: it broke\n    at somewhere', 'Test');
      AppLogger.flush();
    } finally {
      errSpy.mockRestore();
    }
    expect(errors.join('')).toMatch(/ERROR \[Test\] it broke\n[\s\S]*Error: it broke\n {4}at somewhere\n$/);
  });
});
