import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import * as svgCaptcha from 'svg-captcha';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { KvStore } from '@/common/kv/kv-store';
import { VerificationErrors } from '../verification.errors';

function digest(answer: string): string {
  return createHash('sha256').update(answer.trim().toLowerCase()).digest('hex');
}

/**
 * Image captchas bound to a client-chosen id. Only a hash of the answer is kept, in the shared
 * store, so any instance can check it; any attempt that names the id takes it (right, wrong or no
 * answer), so every captcha is single-use and cannot be probed.
 */
@Injectable()
export class CaptchaService {
  constructor(
    private readonly kv: KvStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(captchaId: string): Promise<string> {
    const captcha = svgCaptcha.create({ size: 5, noise: 3, color: true, ignoreChars: '0oO1ilI', width: 150, height: 50 });
    const answer = this.config.captcha.fixedText ?? captcha.text;
    await this.kv.set(this.key(captchaId), digest(answer), this.config.captcha.ttlSeconds * 1000);
    return captcha.data;
  }

  /** True when the answer matches; a named captcha is gone afterwards either way, even when no answer came with it. */
  async check(captchaId: string | undefined, text: string | undefined): Promise<boolean> {
    if (!captchaId) return false;
    const expected = await this.kv.take(this.key(captchaId));
    return !!text && expected !== null && expected === digest(text);
  }

  /** Throws CAPTCHA_REQUIRED when id or answer is missing (burning a named id) and CAPTCHA_INVALID when the answer is wrong. */
  async require(captchaId: string | undefined, text: string | undefined): Promise<void> {
    const passed = await this.check(captchaId, text);
    if (!captchaId || !text) throw new AppException(VerificationErrors.CAPTCHA_REQUIRED);
    if (!passed) throw new AppException(VerificationErrors.CAPTCHA_INVALID);
  }

  private key(captchaId: string): string {
    return `captcha:${captchaId.toLowerCase()}`;
  }
}
