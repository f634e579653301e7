import { isTooComplex } from './body-complexity';

describe('isTooComplex', () => {
  const deep = (levels: number) => JSON.parse(`${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`);

  it('passes scalars, small bodies, exactly 1,000 members and exactly 32 levels', () => {
    expect(isTooComplex('text')).toBe(false);
    expect(isTooComplex(null)).toBe(false);
    expect(isTooComplex({ a: 1, b: [1, 2, { c: 'x' }] })).toBe(false);
    expect(isTooComplex(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])))).toBe(false);
    expect(isTooComplex({ a: Array.from({ length: 999 }, () => 0) })).toBe(false);
    expect(isTooComplex(deep(32))).toBe(false);
  });

  it('refuses 1,001 members (keys and array items, at any depth) and 33 levels', () => {
    expect(isTooComplex(Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])))).toBe(true);
    expect(isTooComplex({ a: Array.from({ length: 1000 }, () => 0) })).toBe(true);
    expect(isTooComplex({ a: { b: Array.from({ length: 500 }, () => ({ c: 1 })) } })).toBe(true);
    expect(isTooComplex(deep(33))).toBe(true);
    expect(isTooComplex(JSON.parse(`${'['.repeat(33)}${']'.repeat(33)}`))).toBe(true);
  });

  it('walks 100,000 levels without recursion, stopping early', () => {
    expect(isTooComplex(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toBe(true);
  });
});
