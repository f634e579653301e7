import { fetchProviderAvatar, isPrivateAddress } from './provider-avatar';

describe("a provider's avatar URL is fetched only from public hosts", () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])('%s is private', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '140.82.112.3', '2606:4700::1111'])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it.each(['http://127.0.0.1/a.png', 'https://127.0.0.1/a.png', 'https://[::1]/a.png', 'https://169.254.169.254/latest/meta-data', 'http://example.com/a.png', 'file:///etc/passwd', 'not a url'])(
    'refuses %s without fetching (tests alone admit private hosts)',
    async (url) => {
      const fetchSpy = jest.spyOn(globalThis, 'fetch');
      expect(await fetchProviderAvatar(url, 1024, false)).toBeNull();
      expect(fetchSpy).not.toHaveBeenCalled();
      fetchSpy.mockRestore();
    },
  );
});
