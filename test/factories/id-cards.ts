import { randomInt } from 'node:crypto';

// The GB 11643 check character, written here independently of src/ so that a wrong algorithm there cannot pass.
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return '10X98765432'[sum % 11];
}

/** A valid, random 18-character resident ID number (region 110105 by default, born 1950-1999). */
export function idCardNumber(options: { region?: string; birth?: string } = {}): string {
  const birth =
    options.birth ?? `${randomInt(1950, 2000)}${String(randomInt(1, 13)).padStart(2, '0')}${String(randomInt(1, 29)).padStart(2, '0')}`;
  const first17 = `${options.region ?? '110105'}${birth}${String(randomInt(0, 1000)).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

/** A valid number whose check character is X, to prove case handling. */
export function idCardNumberEndingInX(): string {
  for (;;) {
    const number = idCardNumber();
    if (number.endsWith('X')) return number;
  }
}

/** The same number with a wrong check character. */
export function withWrongCheckCharacter(number: string): string {
  const wrong = '0123456789X'.split('').find((c) => c !== number[17])!;
  return number.slice(0, 17) + wrong;
}

export function masked(number: string): string {
  return `${number.slice(0, 3)}***********${number.slice(14)}`;
}
