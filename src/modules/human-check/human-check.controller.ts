import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { RawResponse } from '@/common/http/decorators';
import { ApiEnvelope, ApiErrors } from '@/common/http/openapi';
import { CommonErrors } from '@/common/errors';
import { Public } from '@/modules/auth/decorators';
import { AltchaChallengeDto, HumanCheckInfoDto } from './dto/human-check.dto';
import { ProofOfWorkService } from './pow/proof-of-work.service';

@ApiTags('Verification')
@Controller('verification')
export class HumanCheckController {
  constructor(
    private readonly pow: ProofOfWorkService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get('human-check')
  @ApiOperation({
    operationId: 'getHumanCheck',
    summary: 'Which human check to show',
    description:
      'Set by HUMAN_CHECK: `image` (captchaId + captchaText), `pow` (altcha), `image+pow` (all three) or `provider` (captchaToken from the provider widget). Every route that needs a human check (sign-up, sign-in after failures, code requests) takes these fields; a missing answer is 400 CAPTCHA_REQUIRED, a wrong, used or expired one 400 CAPTCHA_INVALID.',
  })
  @ApiEnvelope(HumanCheckInfoDto, { description: 'The configured check' })
  @ApiErrors(CommonErrors.TOO_MANY_REQUESTS)
  info(): HumanCheckInfoDto {
    const { kind, provider } = this.config.humanCheck;
    return {
      kind,
      ...(kind.includes('image') ? { imageUrlTemplate: '/api/v1/verification/captcha/{captchaId}' } : {}),
      ...(kind.includes('pow') ? { challengeUrl: '/api/v1/verification/challenge' } : {}),
      ...(kind === 'provider' && provider?.siteKey ? { siteKey: provider.siteKey } : {}),
    };
  }

  @Public()
  @Get('challenge')
  @RawResponse()
  @ApiOperation({
    operationId: 'getChallenge',
    summary: 'An ALTCHA proof-of-work challenge',
    description:
      'Not wrapped in the envelope: the ALTCHA widget reads it as it is (its `challengeurl`). The expiry (HUMAN_CHECK_POW_TTL, 300 s) is inside `salt`. Send the widget\'s base64 solution as `altcha` where a route asks for a human check and HUMAN_CHECK is `pow` or `image+pow`; each solution is accepted once, on any instance. 404 when HUMAN_CHECK asks for no proof of work.',
  })
  @ApiOkResponse({ description: 'The challenge (no envelope)', type: AltchaChallengeDto })
  @ApiErrors(CommonErrors.NOT_FOUND, CommonErrors.TOO_MANY_REQUESTS)
  challenge(): Promise<AltchaChallengeDto> {
    return this.pow.challenge() as Promise<AltchaChallengeDto>;
  }
}
