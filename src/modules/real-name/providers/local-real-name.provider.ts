import { IdentityClaim, RealNameProvider } from './real-name-provider';
import type { RealNameStatus } from '../real-name-record.entity';

/** The default: a well-formed number with a correct check digit is taken at its word. */
export class LocalRealNameProvider extends RealNameProvider {
  readonly name = 'local';

  async verify(_claim: IdentityClaim): Promise<RealNameStatus> {
    return 'verified';
  }
}
