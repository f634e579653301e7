import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';
import { MemoryKvStore } from '@/common/kv/memory-kv.store';
import { loadConfig } from '@/config/app-config';
import { MailSender, OutgoingMessage, SmsSender } from '../senders/message';
import { VerificationCodesService } from './verification-codes.service';

/**
 * The in-process store, but every call first yields to the event loop, as a call to Redis does:
 * other requests run in between, which is exactly when "compare, then count" lets a burst through.
 */
function withLatency(store: KvStore): KvStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('VerificationCodesService.consume: count before compare', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-codes-'));
  const sent: OutgoingMessage[] = [];
  const sender = { send: async (message: OutgoingMessage) => void sent.push(message) };
  const memory = new MemoryKvStore(new SystemClock());
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, CODE_HMAC_KEY: 'a test key that is long enough to use' });
  const codes = new VerificationCodesService(withLatency(memory), new SystemClock(), sender as SmsSender, sender as MailSender, config);
  afterAll(async () => {
    await memory.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('compares at most CODE_MAX_ATTEMPTS of 300 parallel guesses, even when every store call waits for the network', async () => {
    const request = { channel: 'email' as const, destination: 'burst@example.com', purpose: 'reset_password' as const };
    await codes.send({ ...request, ip: '192.0.2.1', language: 'en', deliver: true });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const code = sent.pop()!.code!;
    const guesses = Array.from({ length: 300 }, (_, i) => (i === 150 ? code : String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0')));
    const outcomes = await Promise.all(guesses.map((guess) => codes.consume(request, guess).then(() => 'OK', (error: AppException) => error.entry.code)));
    expect(outcomes.filter((outcome) => outcome === 'CODE_INVALID' || outcome === 'OK').length).toBeLessThanOrEqual(config.codes.maxAttempts);
    expect(outcomes[150]).toBe('CODE_EXPIRED');
  });
});
