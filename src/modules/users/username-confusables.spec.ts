import { isOneWritingSystem, usernameSkeleton } from './username-confusables';

describe('usernameSkeleton (Unicode TS #39, after NFKC and case folding)', () => {
  it('gives look-alike spellings one key', () => {
    const key = usernameSkeleton('rootadmin');
    for (const lookalike of ['r\u043e\u043etadmin', 'RootAdmin', 'r00tadmin', 'ｒｏｏｔａｄｍｉｎ', 'rootadrnin', 'rootadm\u0456n']) expect([lookalike, usernameSkeleton(lookalike)]).toEqual([lookalike, key]);
  });

  it('keeps different names apart', () => {
    expect(usernameSkeleton('alice_01')).not.toBe(usernameSkeleton('alice_02'));
    expect(usernameSkeleton('张三_dev')).not.toBe(usernameSkeleton('李四_dev'));
  });
});

describe('isOneWritingSystem (TS #39 "Highly Restrictive")', () => {
  it.each(['alice.smith-01', '\u0438\u0432\u0430\u043d_\u043f\u0435\u0442\u0440\u043e\u0432', '山田タロウ', '张三_dev', 'kim김철수', 'user_2026'])('takes %j', (name) => {
    expect(isOneWritingSystem(name)).toBe(true);
  });

  it.each(['p\u0430ypal', 'r\u043e\u043etadmin', '\u03b1\u03b2\u03b3_abc', '\u0438\u0432\u0430\u043d\u5f20'])('refuses %j', (name) => {
    expect(isOneWritingSystem(name)).toBe(false);
  });
});
