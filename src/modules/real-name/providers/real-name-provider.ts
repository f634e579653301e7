import type { RealNameStatus } from '../real-name-record.entity';

export interface IdentityClaim {
  realName: string;
  idCardNumber: string;
}

/**
 * Decides whether a name and ID number belong together. `local` checks nothing beyond the
 * format and check digit (done before any provider is asked) and answers `verified`; `http`
 * asks a third-party identity service. A provider that cannot answer throws
 * REAL_NAME_PROVIDER_UNAVAILABLE (502) and nothing is stored.
 */
export abstract class RealNameProvider {
  abstract readonly name: string;
  abstract verify(claim: IdentityClaim): Promise<RealNameStatus>;
}
