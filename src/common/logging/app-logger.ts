import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';

type Stream = 'stdout' | 'stderr';

/**
 * Lines written in one event-loop turn, per stream, sent in one write on the next turn. Writes to
 * a file or pipe are synchronous in Node, so one write per access line was one syscall per request.
 * Shared by every logger of the process so that one exit hook flushes them all.
 */
const pending: Record<Stream, string[]> = { stdout: [], stderr: [] };
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  for (const stream of ['stdout', 'stderr'] as const) {
    if (!pending[stream].length) continue;
    const text = pending[stream].join('');
    pending[stream] = [];
    process[stream].write(text);
  }
}

// Whatever is still queued when the process ends (process.exit, an uncaught error) is written before it goes.
process.once('exit', flush);

function enqueue(stream: Stream, text: string): void {
  pending[stream].push(text);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** Nest's console logger (same text and JSON formats), with its writes batched per event-loop turn. */
export class AppLogger extends ConsoleLogger {
  /** Writes what is queued now; for callers that are about to exit or hand the stream to someone else. */
  static flush(): void {
    flush();
  }

  protected override printMessages(messages: unknown[], context = '', logLevel: LogLevel = 'log', writeStreamType?: Stream, errorStack?: unknown): void {
    for (const message of messages) {
      if (this.options.json) {
        this.printAsJson(message, { context, logLevel, writeStreamType, errorStack });
        continue;
      }
      const formatted = this.formatMessage(logLevel, message, this.formatPid(process.pid), logLevel.toUpperCase().padStart(7, ' '), this.formatContext(context), this.updateAndGetTimestampDiff());
      enqueue(writeStreamType ?? 'stdout', formatted);
    }
  }

  protected override printAsJson(message: unknown, options: { context: string; logLevel: LogLevel; writeStreamType?: Stream; errorStack?: unknown }): void {
    const logObject = this.getJsonLogObject(message, options);
    const line = !this.options.colors && this.inspectOptions.compact === true ? this.stringifyJsonLogObject(logObject) : inspect(logObject, this.inspectOptions);
    enqueue(options.writeStreamType ?? 'stdout', `${line}\n`);
  }

  protected override printStackTrace(stack: string): void {
    if (!stack || this.options.json) return;
    enqueue('stderr', `${stack}\n`);
  }
}
