import { pickLanguage } from './i18n';

describe('pickLanguage', () => {
  it.each([
    [undefined, 'en'],
    ['zh-CN', 'zh-CN'],
    ['zh-TW,zh;q=0.9', 'zh-CN'],
    ['fr-FR, en;q=0.5, zh;q=0.4', 'en'],
    ['en;q=0.1, zh-CN;q=0.8', 'zh-CN'],
    ['de', 'en'],
    ['zh;q=0', 'en'],
  ])('%j -> %s', (header, expected) => {
    expect(pickLanguage(header)).toBe(expected);
  });
});
