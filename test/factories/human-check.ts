import { solveChallenge } from 'altcha-lib/v1';
import type { TestApp } from '../helpers/test-app';

export interface AltchaChallenge {
  algorithm: string;
  challenge: string;
  maxnumber: number;
  salt: string;
  signature: string;
}

/** Does what the ALTCHA widget does: finds the number and encodes the solution as base64 JSON. */
export async function solveAltcha(challenge: AltchaChallenge, change: Partial<Record<string, unknown>> = {}): Promise<string> {
  const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, challenge.maxnumber).promise;
  if (!solution) throw new Error('the challenge has no solution below maxnumber');
  const payload = { algorithm: challenge.algorithm, challenge: challenge.challenge, number: solution.number, salt: challenge.salt, signature: challenge.signature, ...change };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

/** A fresh challenge from the app, solved: the `altcha` field of a request. */
export async function solvedAltcha(t: Pick<TestApp, 'http'>): Promise<{ altcha: string }> {
  const response = await t.http.get('/api/v1/verification/challenge').expect(200);
  return { altcha: await solveAltcha(response.body as AltchaChallenge) };
}
