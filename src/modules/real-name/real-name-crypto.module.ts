import { Module } from '@nestjs/common';
import { RealNameCipher } from './real-name-cipher';
import { RealNameKeys } from './real-name-keys';

/** The key ring and cipher for data sealed at rest (real names, ID numbers, TOTP secrets), shared without the real-name routes. */
@Module({
  providers: [RealNameKeys, RealNameCipher],
  exports: [RealNameCipher],
})
export class RealNameCryptoModule {}
