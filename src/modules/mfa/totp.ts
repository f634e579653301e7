import type * as OtpAuth from 'otpauth';

let loaded: typeof OtpAuth | null = null;

/** otpauth is loaded when an account first enrols or presents a TOTP code, not at start-up (~0.5 MB of heap). */
function otpauth(): typeof OtpAuth {
  return (loaded ??= require('otpauth') as typeof OtpAuth);
}

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
/** One step either side of now absorbs clock drift. */
const WINDOW = 1;

function totpOf(secretBase32: string, issuer = '', label = ''): OtpAuth.TOTP {
  const { Secret, TOTP } = otpauth();
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

/** A new 160-bit secret (RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return new (otpauth().Secret)({ size: 20 }).base32;
}

export function totpUrl(secretBase32: string, issuer: string, label: string): string {
  return totpOf(secretBase32, issuer, label).toString();
}

/**
 * The time step the code belongs to (within ±1 of now), or null when it matches none. The caller
 * records the step as used, so each code is accepted once.
 */
export function matchingTotpStep(secretBase32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpOf(secretBase32).validate({ token: code, timestamp: nowMs, window: WINDOW });
  return delta === null ? null : Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
}

/** The code for a moment (tests and the confirmation of an enrolment use it). */
export function totpCode(secretBase32: string, nowMs: number): string {
  return totpOf(secretBase32).generate({ timestamp: nowMs });
}
