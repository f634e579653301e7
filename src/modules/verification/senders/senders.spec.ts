import { aliyunEncode } from './aliyun-sms.sender';
import { renderTemplate, requestHeaders } from './http-sms.sender';
import { maskDestination, OutgoingMessage } from './message';

const message: OutgoingMessage = { channel: 'sms', to: '+8613800138000', purpose: 'login', code: '123456', language: 'en', subject: 's', text: 'say "hi"\nand } { bye' };

describe('delivery helpers', () => {
  it('escapes template values so they cannot break the JSON body', () => {
    const body = renderTemplate('{"to":"{{phone}}","code":"{{code}}","text":"{{text}}"}', message);
    expect(JSON.parse(body)).toEqual({ to: '+8613800138000', code: '123456', text: 'say "hi"\nand } { bye' });
  });

  it("encodes like Aliyun's signature rules", () => {
    expect(aliyunEncode("a b*c~d/e+f!'()")).toBe('a%20b%2Ac~d%2Fe%2Bf%21%27%28%29');
  });

  it('adds a JSON content type only when the operator set none, in any spelling', () => {
    expect(requestHeaders({ Authorization: 'x' })).toEqual({ 'Content-Type': 'application/json', Authorization: 'x' });
    expect(requestHeaders({ 'content-type': 'application/x-www-form-urlencoded' })).toEqual({ 'content-type': 'application/x-www-form-urlencoded' });
  });

  it('masks destinations for logs', () => {
    expect(maskDestination('+8613800138000')).toBe('+86138****8000');
    expect(maskDestination('alice@example.com')).toBe('a***@example.com');
  });
});
