import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import type { ClientInfo } from '@/common/http/decorators';
import { HumanCheckErrors } from './human-check.errors';
import { HumanCheck, HumanCheckAnswer } from './human-check.port';
import { ImageCaptchaService } from './image/image-captcha.service';
import { ProofOfWorkService } from './pow/proof-of-work.service';
import { ProviderCheckService } from './provider/provider-check.service';

/**
 * The human check every protected flow calls (sign-up, sign-in after failures, code requests):
 * the kinds HUMAN_CHECK names, all of which must pass.
 */
@Injectable()
export class HumanCheckService {
  private readonly checks: HumanCheck[];

  constructor(image: ImageCaptchaService, pow: ProofOfWorkService, provider: ProviderCheckService, @Inject(APP_CONFIG) config: AppConfig) {
    const byKind = { image: [image], pow: [pow], 'image+pow': [image, pow], provider: [provider] };
    this.checks = byKind[config.humanCheck.kind];
  }

  /** Throws CAPTCHA_REQUIRED when an answer is missing and CAPTCHA_INVALID when one is wrong; whatever was named is spent either way. */
  async require(answer: HumanCheckAnswer, client: ClientInfo): Promise<void> {
    // Every kind runs even when another already failed, so each spends what the request named.
    const outcomes = await Promise.all(this.checks.map((check) => check.verify(answer, client)));
    if (outcomes.includes('missing')) throw new AppException(HumanCheckErrors.CAPTCHA_REQUIRED);
    if (outcomes.includes('failed')) throw new AppException(HumanCheckErrors.CAPTCHA_INVALID);
  }
}
