import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { readBoundedText } from '@/common/http/bounded-body';
import type { ClientInfo } from '@/common/http/decorators';
import { HumanCheck, HumanCheckAnswer, HumanCheckOutcome, MAX_PROVIDER_TOKEN } from '../human-check.port';

/** A siteverify answer is a small JSON object; anything larger is treated as a failure, unread. */
export const MAX_PROVIDER_ANSWER_BYTES = 16 * 1024;

/**
 * An external human check (Cloudflare Turnstile, hCaptcha, reCAPTCHA, or a small gateway in front
 * of GeeTest / Tencent): the client's `captchaToken` is POSTed, form-encoded with the secret and the
 * client's IP, to HUMAN_CHECK_PROVIDER_URL, which all of them answer `{"success": true|false, ...}`.
 * It fails closed: a timeout, a non-2xx status, an oversized or non-JSON answer or anything but
 * `success: true` refuses the request. The provider spends its tokens itself (each verifies once).
 */
@Injectable()
export class ProviderCheckService implements HumanCheck {
  private readonly logger = new Logger('HumanCheckProvider');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async verify({ captchaToken }: HumanCheckAnswer, client: ClientInfo): Promise<HumanCheckOutcome> {
    const provider = this.config.humanCheck.provider;
    if (!captchaToken) return 'missing';
    if (!provider || captchaToken.length > MAX_PROVIDER_TOKEN) return 'failed';
    let response: Response;
    try {
      response = await fetch(provider.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ secret: provider.secret, response: captchaToken, remoteip: client.ip }).toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(provider.timeoutMs),
      });
    } catch (error) {
      return this.refuse(`no answer (${(error as Error)?.name ?? 'error'})`);
    }
    // The timeout covers reading the body too: the same signal aborts the stream.
    const text = await readBoundedText(response, MAX_PROVIDER_ANSWER_BYTES).catch(() => null);
    if (!response.ok) return this.refuse(`HTTP ${response.status}`);
    if (text === null) return this.refuse('an answer over the size limit, or cut short');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.refuse('a body that is not JSON');
    }
    return (body as { success?: unknown } | null)?.success === true ? 'passed' : 'failed';
  }

  private refuse(reason: string): HumanCheckOutcome {
    this.logger.warn(`Human check provider failed closed: ${reason}`);
    return 'failed';
  }
}
