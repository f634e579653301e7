import { applyDecorators } from '@nestjs/common';
import { isEmail, IsEmail, Matches, MaxLength } from 'class-validator';

const OPTIONS = { allow_display_name: false, allow_ip_domain: false };
const MESSAGE = 'email must be a valid address';
/** RFC 5321 allows a quoted local part with spaces or CR/LF inside; in a mail header that is an injection. */
const HEADER_SAFE = /^[^\s\u0000-\u001f\u007f"\\]+$/;

/** An address fit for a mail header: no display name, no IP domain, no quotes, spaces or control characters. */
export function isEmailAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && HEADER_SAFE.test(value) && isEmail(value, OPTIONS);
}

/** The DTO form of isEmailAddress (one message, whatever part fails). */
export const IsEmailAddress = () => applyDecorators(IsEmail(OPTIONS, { message: MESSAGE }), Matches(HEADER_SAFE, { message: MESSAGE }), MaxLength(254));
