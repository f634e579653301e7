import { Module } from '@nestjs/common';
import { HumanCheckController } from './human-check.controller';
import { HumanCheckService } from './human-check.service';
import { CaptchaController } from './image/captcha.controller';
import { ImageCaptchaService } from './image/image-captcha.service';
import { RasterCaptchaRenderer } from './image/raster-captcha.renderer';
import { ProofOfWorkService } from './pow/proof-of-work.service';
import { ProviderCheckService } from './provider/provider-check.service';

/**
 * Telling people from programs: the image captcha, the proof of work and an external provider
 * behind one service, HumanCheckService, which the flows that need a check call.
 */
@Module({
  controllers: [CaptchaController, HumanCheckController],
  providers: [RasterCaptchaRenderer, ImageCaptchaService, ProofOfWorkService, ProviderCheckService, HumanCheckService],
  exports: [HumanCheckService],
})
export class HumanCheckModule {}
