// bcrypt runs on the libuv pool; size it before anything touches the pool (4 is the default).
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, require('node:os').availableParallelism()));

import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from './config/app-config';
import { createApp } from './app.setup';
import { tuneRuntime } from './common/runtime-tuning';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  // Before createApp: the pool's threads are found as they start, and connecting (DNS, key files) starts them.
  const { poolThreads } = await tuneRuntime(config.runtime);
  const app = await createApp(config);
  await app.listen({ port: config.port, host: config.host });
  if (poolThreads.length) new Logger('Bootstrap').log(`libuv pool: ${poolThreads.length} threads at niceness ${config.runtime.threadPoolNiceness}`);
  new Logger('Bootstrap').log(`User Centre listening on http://${config.host}:${config.port} (docs at /docs)`);
  // Test-only settings that give away captchas or codes: said loudly, last, so nobody runs them by mistake.
  if (config.captcha.fixedText) new Logger('Bootstrap').warn(`TEST-ONLY SETTING: CAPTCHA_FIXED_TEXT is set, so every captcha's answer is "${config.captcha.fixedText}". Never use it where real people sign up.`);
  if (config.delivery.outboxFile) new Logger('Bootstrap').warn(`TEST-ONLY SETTING: OUTBOX_FILE is set, so every SMS and mail, verification codes included, is also written to ${config.delivery.outboxFile}. Never use it where real people sign in.`);
  // Nest's shutdown hooks (see app.setup.ts) drain and exit 0; a request that never ends cannot hold the exit past this bound.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      new Logger('Shutdown').log(`${signal}: draining in-flight requests`);
      setTimeout(() => {
        process.stderr.write(`Shutdown did not finish within ${config.operations.shutdownTimeoutMs} ms; exiting\n`);
        process.exit(1);
      }, config.operations.shutdownTimeoutMs).unref();
    });
  }
}

bootstrap().catch((error: unknown) => {
  // A bad setting is one clear line, never a stack trace.
  const message = error instanceof ConfigError ? error.message : `Start-up failed: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
