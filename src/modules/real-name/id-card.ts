/**
 * The 18-character PRC resident identity number (GB 11643-1999): a 6-digit region code, the
 * birth date as YYYYMMDD, a 3-digit sequence and an ISO 7064 MOD 11-2 check character (0-9 or X).
 * Residence permits of Hong Kong, Macao and Taiwan residents (81, 82, 83) share the format.
 */
const PROVINCES = new Set([
  '11', '12', '13', '14', '15', '21', '22', '23', '31', '32', '33', '34', '35', '36', '37',
  '41', '42', '43', '44', '45', '46', '50', '51', '52', '53', '54', '61', '62', '63', '64', '65',
  '71', '81', '82', '83',
]);
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = '10X98765432';

export type IdCardProblem = 'format' | 'region' | 'birth_date' | 'check_digit';

export const ID_CARD_PROBLEMS: Record<IdCardProblem, string> = {
  format: 'must be 17 digits followed by a digit or X',
  region: 'does not start with a valid region code',
  birth_date: 'does not contain a valid birth date',
  check_digit: 'has a wrong check digit',
};

/** The check character for the first 17 digits. */
export function idCardCheckCharacter(first17: string): string {
  const sum = WEIGHTS.reduce((total, weight, index) => total + weight * Number(first17[index]), 0);
  return CHECK_CHARACTERS[sum % 11];
}

function isRealBirthDate(digits: string, nowMs: number): boolean {
  const year = Number(digits.slice(0, 4));
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  if (year < 1900) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return false;
  // A birth "today" in China (UTC+8) is still not in the future.
  return date.getTime() <= nowMs + 8 * 3600_000;
}

/** Normalises (NFKC: full-width digits; trims; upper-case X) and validates; the number or why it is not one. */
export function checkIdCard(input: string, nowMs: number): { number: string } | { problem: IdCardProblem } {
  const number = input.normalize('NFKC').trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(number)) return { problem: 'format' };
  if (!PROVINCES.has(number.slice(0, 2))) return { problem: 'region' };
  if (!isRealBirthDate(number.slice(6, 14), nowMs)) return { problem: 'birth_date' };
  if (idCardCheckCharacter(number) !== number[17]) return { problem: 'check_digit' };
  return { number };
}

/** `110***********123X`: the first 3 and the last 4 characters. */
export function maskIdCard(number: string): string {
  return `${number.slice(0, 3)}${'*'.repeat(Math.max(0, number.length - 7))}${number.slice(-4)}`;
}
