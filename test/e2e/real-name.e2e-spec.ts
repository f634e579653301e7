import { randomBytes } from 'node:crypto';
import { idCardNumber, idCardNumberEndingInX, masked, withWrongCheckCharacter } from '../factories/id-cards';
import { DEFAULT_PASSWORD, signedInUser, signIn } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const ROUTE = '/api/v1/users/me/real-name';

async function rows(t: TestApp, sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  return t.db.query(sql, params);
}

describe('Real-name verification (local provider)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers 404 REAL_NAME_NOT_SUBMITTED before any submission', async () => {
    const user = await signedInUser(t);
    const response = await t.http.get(ROUTE).set(user.auth).expect(404);
    expect(response.body.error).toBe('REAL_NAME_NOT_SUBMITTED');
    const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
    expect(me.body.data.realNameVerified).toBe(false);
  });

  it('needs a signed-in caller', async () => {
    await t.http.get(ROUTE).expect(401);
    await t.http.post(ROUTE).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(401);
  });

  it('accepts a lower-case x and stores it upper-case', async () => {
    const user = await signedInUser(t);
    const number = idCardNumberEndingInX();
    const response = await t.http.post(ROUTE).set(user.auth).send({ realName: 'John Smith', idCardNumber: number.toLowerCase() }).expect(201);
    expect(response.body.data).toMatchObject({ realName: 'J*********', idCardNumber: masked(number) });
    expect(response.body.data.idCardNumber.endsWith('X')).toBe(true);
    // The upper-case form binds: the same number in either case is the same card.
    const other = await signedInUser(t);
    await t.http.post(ROUTE).set(other.auth).send({ realName: '王五', idCardNumber: number }).expect(409);
  });

  describe('refuses invalid ID numbers with 400 ID_CARD_INVALID', () => {
    let auth: Record<string, string>;
    beforeAll(async () => {
      auth = (await signedInUser(t)).auth;
    });

    const valid = idCardNumber({ birth: '19900101' });
    const year = new Date().getUTCFullYear() + 1;
    it.each([
      ['a wrong check digit', withWrongCheckCharacter(valid)],
      ['17 characters', valid.slice(0, 17)],
      ['19 characters', `${valid}1`],
      ['15 characters (the old format)', valid.slice(0, 6) + valid.slice(8, 17)],
      ['letters', `${valid.slice(0, 10)}AB${valid.slice(12)}`],
      ['inner spaces', `${valid.slice(0, 9)} ${valid.slice(10)}`],
      ['region 00', idCardNumber({ region: '000000' })],
      ['a region starting with 0', idCardNumber({ region: '010105' })],
      ['unknown province 99', idCardNumber({ region: '990105' })],
      ['30 February', idCardNumber({ birth: '19900230' })],
      ['month 13', idCardNumber({ birth: '19901301' })],
      ['day 00', idCardNumber({ birth: '19900100' })],
      ['a birth before 1900', idCardNumber({ birth: '18991231' })],
      ['a birth in the future', idCardNumber({ birth: `${year}0101` })],
      ['29 February of a common year', idCardNumber({ birth: '19990229' })],
    ])('%s', async (_label, number) => {
      const response = await t.http.post(ROUTE).set(auth).send({ realName: '张三', idCardNumber: number }).expect(400);
      expect(response.body.error).toBe('ID_CARD_INVALID');
      expect(response.body.details).toEqual([{ field: 'idCardNumber', message: expect.stringMatching(/^idCardNumber /) }]);
      expect(response.text).not.toContain(number);
    });

    it('accepts the same number with its correct check digit and a leap day', async () => {
      await t.http.post(ROUTE).set(auth).send({ realName: '张三', idCardNumber: idCardNumber({ birth: '20000229' }) }).expect(201);
    });
  });

  describe('refuses invalid names with 400 REAL_NAME_INVALID', () => {
    let auth: Record<string, string>;
    beforeAll(async () => {
      auth = (await signedInUser(t)).auth;
    });

    it.each([['张'], ['张'.repeat(31)], ['张三3'], ['张 San'], ['·张三'], ['<b>x</b>'], ['Robert"); --'], ['  ']])('%j', async (realName) => {
      const response = await t.http.post(ROUTE).set(auth).send({ realName, idCardNumber: idCardNumber() }).expect(400);
      expect(response.body.error).toBe('REAL_NAME_INVALID');
    });

    it('accepts a transliterated name with a middle dot and a 30-character name', async () => {
      const user = await signedInUser(t);
      const response = await t.http.post(ROUTE).set(user.auth).send({ realName: '阿卜杜拉・买买提', idCardNumber: idCardNumber() }).expect(201);
      expect(response.body.data.realName).toBe('阿*******');
      const other = await signedInUser(t);
      await t.http.post(ROUTE).set(other.auth).send({ realName: '张'.repeat(30), idCardNumber: idCardNumber() }).expect(201);
    });

    it('refuses wrong types and unknown fields with 400 VALIDATION_FAILED', async () => {
      for (const body of [{ realName: 12, idCardNumber: idCardNumber() }, { realName: '张三' }, { realName: '张三', idCardNumber: idCardNumber(), status: 'verified' }]) {
        const response = await t.http.post(ROUTE).set(auth).send(body).expect(400);
        expect(response.body.error).toBe('VALIDATION_FAILED');
      }
    });
  });

  it('does not let the user overwrite a verified record', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    for (const body of [{ realName: '李四', idCardNumber: idCardNumber() }, { realName: '张三', idCardNumber: number }]) {
      const response = await t.http.post(ROUTE).set(user.auth).send(body).expect(409);
      expect(response.body.error).toBe('REAL_NAME_ALREADY_VERIFIED');
    }
    expect((await t.http.get(ROUTE).set(user.auth).expect(200)).body.data.realName).toBe('张*');
  });

  it('lets exactly one of several accounts racing for one number win', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => signedInUser(t)));
    const number = idCardNumber();
    const responses = await Promise.all(users.map((user) => t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: number })));
    const statuses = responses.map((response) => response.status).sort();
    // At most 3 reach the binding (REAL_NAME_PER_ID_NUMBER_PER_DAY); whoever loses the race or the count is refused.
    expect(statuses).toEqual([201, 409, 409, 429, 429, 429]);
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.error === 'ID_CARD_ALREADY_BOUND')).toBe(true);
    const bound = await rows(t, 'SELECT user_id FROM real_name_records WHERE id_card_index IS NOT NULL AND user_id IN (?, ?, ?, ?, ?, ?)', ...users.map((u) => u.user.id));
    expect(bound).toHaveLength(1);
  });

  it('frees the number when the account is deleted', async () => {
    const first = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(first.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    await t.http.delete('/api/v1/users/me').set(first.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
    expect(await rows(t, 'SELECT user_id FROM real_name_records WHERE user_id = ?', first.user.id)).toHaveLength(0);
    const second = await signedInUser(t);
    await t.http.post(ROUTE).set(second.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
  });
});

describe('Real-name keys', () => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('hex');
  const indexKey = randomBytes(32).toString('base64');

  it('still reads a record written with the old key after a rotation, and writes new ones with the new key', async () => {
    const before = await createTestApp({ REAL_NAME_ENCRYPTION_KEYS: `old:${oldKey}`, REAL_NAME_INDEX_KEY: indexKey });
    let after: TestApp | null = null;
    try {
      const user = await signedInUser(before);
      const number = idCardNumber();
      await before.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
      expect((await rows(before, 'SELECT key_id FROM real_name_records WHERE user_id = ?', user.user.id))[0].key_id).toBe('old');

      // The same database, restarted with a new current key and the old one kept for reading.
      const database = before.config.database;
      after = await createTestApp({
        DATABASE_URL: database.driver === 'sqlite' ? `sqlite:${database.file}` : database.url,
        REAL_NAME_ENCRYPTION_KEYS: `new:${newKey},old:${oldKey}`,
        REAL_NAME_INDEX_KEY: indexKey,
      });
      const session = await signIn(after, user.username);
      const read = await after.http.get(ROUTE).set({ Authorization: `Bearer ${session.accessToken}` }).expect(200);
      expect(read.body.data).toMatchObject({ status: 'verified', realName: '张*', idCardNumber: masked(number) });

      const newcomer = await signedInUser(after);
      await after.http.post(ROUTE).set(newcomer.auth).send({ realName: '李四', idCardNumber: idCardNumber() }).expect(201);
      expect((await rows(after, 'SELECT key_id FROM real_name_records WHERE user_id = ?', newcomer.user.id))[0].key_id).toBe('new');
      // The blind index key did not change, so old bindings still hold.
      const response = await after.http.post(ROUTE).set(newcomer.auth).send({ realName: '张三', idCardNumber: number }).expect(409);
      expect(response.body.error).toBe('REAL_NAME_ALREADY_VERIFIED');
      const third = await signedInUser(after);
      expect((await after.http.post(ROUTE).set(third.auth).send({ realName: '张三', idCardNumber: number }).expect(409)).body.error).toBe('ID_CARD_ALREADY_BOUND');
    } finally {
      await after?.close();
      await before.close();
    }
  });
});
