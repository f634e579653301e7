import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { clientNetworkKey } from '@/common/http/client-network';
import { KvStore } from '@/common/kv/kv-store';
import { HumanCheck, HumanCheckAnswer, HumanCheckOutcome } from '../human-check.port';
import { RasterCaptchaRenderer } from './raster-captcha.renderer';

function digest(answer: string): string {
  return createHash('sha256').update(answer.trim().toLowerCase()).digest('hex');
}

/**
 * Image captchas bound to a client-chosen id. Only a hash of the answer is kept (64 hex characters
 * under `captcha:<id>`, never the image or the text), in the shared store, so any instance can
 * check it; any attempt that names the id takes it (right, wrong or no answer), so every captcha is
 * single-use and cannot be probed. One client (an IPv4 address or an IPv6 /64, see clientNetworkKey)
 * holds at most CAPTCHA_PER_IP pending captchas: a list of its ids (`captcha-ip:<client>`) in issue
 * order, and the oldest is forgotten when a new one would pass the cap, so a client asking for
 * thousands only ever costs the store that many.
 */
@Injectable()
export class ImageCaptchaService implements HumanCheck {
  constructor(
    private readonly kv: KvStore,
    private readonly renderer: RasterCaptchaRenderer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether HUMAN_CHECK asks for it; otherwise the image route is 404, so it costs no rendering. */
  get enabled(): boolean {
    return this.config.humanCheck.kind.includes('image');
  }

  /** Draws a new captcha for the id (replacing any pending one) and returns the PNG; `ip` holds it. */
  async issue(captchaId: string, ip: string): Promise<Buffer> {
    if (!this.enabled) throw new AppException(CommonErrors.NOT_FOUND);
    const answer = this.config.captcha.fixedText ?? this.renderer.randomText();
    const png = await this.renderer.render(answer);
    const { ttlSeconds, perIp } = this.config.captcha;
    // Stored before it is listed: a parallel issue that pushes this id out deletes it after, never before.
    await this.kv.set(this.key(captchaId), digest(answer), ttlSeconds * 1000);
    const dropped = await this.kv.pushCapped(`captcha-ip:${clientNetworkKey(ip)}`, captchaId.toLowerCase(), perIp, ttlSeconds * 1000);
    if (dropped.length) await this.kv.delete(...dropped.map((id) => this.key(id)));
    return png;
  }

  /** A named captcha is gone afterwards whatever the outcome, even when no answer came with it. */
  async verify({ captchaId, captchaText }: HumanCheckAnswer): Promise<HumanCheckOutcome> {
    const expected = captchaId ? await this.kv.take(this.key(captchaId)) : null;
    if (!captchaId || !captchaText) return 'missing';
    return expected !== null && expected === digest(captchaText) ? 'passed' : 'failed';
  }

  private key(captchaId: string): string {
    return `captcha:${captchaId.toLowerCase()}`;
  }
}
