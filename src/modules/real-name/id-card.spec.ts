import { checkIdCard, idCardCheckCharacter, maskIdCard } from './id-card';

const NOW = Date.UTC(2026, 5, 15, 12);

describe('PRC resident ID numbers', () => {
  it('accepts the GB 11643 example and other well-formed numbers', () => {
    expect(checkIdCard('11010519491231002X', NOW)).toEqual({ number: '11010519491231002X' });
    expect(checkIdCard('110101200001010010', NOW)).toEqual({ number: '110101200001010010' });
    expect(checkIdCard('810000199001010019', NOW)).toEqual({ number: '810000199001010019' });
  });

  it('normalises a lower-case x, surrounding spaces and full-width digits', () => {
    expect(checkIdCard(' 11010519491231002x ', NOW)).toEqual({ number: '11010519491231002X' });
    expect(checkIdCard('１１０１０５１９４９１２３１００２Ｘ', NOW)).toEqual({ number: '11010519491231002X' });
  });

  it('computes the ISO 7064 MOD 11-2 check character', () => {
    expect(idCardCheckCharacter('11010519491231002')).toBe('X');
    expect(idCardCheckCharacter('44052418800101001')).toBe('4');
    expect(idCardCheckCharacter('11010120000101001')).toBe('0');
    expect(idCardCheckCharacter('81000019900101001')).toBe('9');
  });

  it.each([
    ['110105194912310021', 'check_digit'],
    ['110105194912310020', 'check_digit'],
    ['110101200001010016', 'check_digit'],
    ['11010519491231002', 'format'],
    ['11010519491231002X1', 'format'],
    ['1101051949123100XX', 'format'],
    ['11010519491231 02X', 'format'],
    ['', 'format'],
    ['010105194912310025', 'region'],
    ['990105194912310020', 'region'],
    ['190105194912310020', 'region'],
    ['440524188001010014', 'birth_date'],
    ['110105190002290010', 'birth_date'],
    ['110105202302290010', 'birth_date'],
    ['110105199913010010', 'birth_date'],
    ['110105199900000010', 'birth_date'],
    ['110105203001010010', 'birth_date'],
  ])('refuses %s (%s)', (number, problem) => {
    expect(checkIdCard(number, NOW)).toEqual({ problem });
  });

  it('accepts 29 February of a leap year and a birth today, refuses tomorrow', () => {
    const leap = `11010520000229001`;
    expect(checkIdCard(leap + idCardCheckCharacter(leap), NOW)).toHaveProperty('number');
    const today = `11010520260615001`;
    expect(checkIdCard(today + idCardCheckCharacter(today), NOW)).toHaveProperty('number');
    const tomorrow = `11010520260616001`;
    expect(checkIdCard(tomorrow + idCardCheckCharacter(tomorrow), NOW)).toEqual({ problem: 'birth_date' });
  });

  it('masks all but the first 3 and last 4 characters', () => {
    expect(maskIdCard('11010519491231002X')).toBe('110***********002X');
  });
});
