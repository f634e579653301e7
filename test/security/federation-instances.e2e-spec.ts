import { callbackPath, federationEnv, idpClients, idpPerson, SPA_RETURN } from '../factories/federation';
import { OidcIdp } from '../helpers/oidc-idp';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend } from '../helpers/test-app';
import { startTwoInstances, TwoInstances } from '../helpers/two-instances';

const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

describeOnBoth('Federation across two instances sharing MariaDB and Redis: the callback may land on the other instance', () => {
  let idp: OidcIdp;
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
    instances = await startTwoInstances(federationEnv(idp, ['corp']));
    ({ a, b } = instances);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([instances?.stop(), idp?.stop()]);
  });

  it('URL made by A, callback on B, result exchanged on A: signed in; state and result single-use across both (parallel)', async () => {
    const person = await idpPerson(idp);
    const started = await a.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri: SPA_RETURN }).expect(200);
    const callback = await idp.signIn(started.body.data.url, person.id);
    const deliveries = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).http.get(callbackPath(callback))));
    const redirected = deliveries.filter((answer) => answer.status === 302);
    expect(redirected).toHaveLength(1);
    expect(deliveries.filter((answer) => answer.status === 400 && answer.body.error === 'OAUTH_STATE_INVALID')).toHaveLength(19);
    const result = new URL(redirected[0].headers.location).searchParams.get('result');
    const exchanges = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).http.post('/api/v1/auth/oauth/exchange').send({ result })));
    const signedIn = exchanges.filter((answer) => answer.status === 200);
    expect(signedIn).toHaveLength(1);
    const me = await b.http.get('/api/v1/users/me').set('Authorization', `Bearer ${signedIn[0].body.data.accessToken}`).expect(200);
    expect(me.body.data.email).toBe(person.claims.email);
  });

  it('a callback delivered only to B, for a URL made by A', async () => {
    const person = await idpPerson(idp);
    const started = await a.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri: SPA_RETURN }).expect(200);
    const callback = await idp.signIn(started.body.data.url, person.id);
    const answer = await b.http.get(callbackPath(callback)).expect(302);
    const result = new URL(answer.headers.location).searchParams.get('result');
    await a.http.post('/api/v1/auth/oauth/exchange').send({ result }).expect(200);
  });
});
