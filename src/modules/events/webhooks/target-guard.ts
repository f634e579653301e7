import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import ipaddr from 'ipaddr.js';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException } from '@/common/errors';
import { WebhooksErrors } from './webhooks.errors';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** DNS, as a class so tests can make a name's answer change between saving an endpoint and sending to it. */
@Injectable()
export class WebhookResolver {
  async lookup(hostname: string): Promise<ResolvedAddress[]> {
    const answers = await lookup(hostname, { all: true, verbatim: true });
    return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  }
}

/**
 * Only global unicast addresses are public targets: ipaddr.js names every other range (loopback,
 * private, linkLocal — 169.254.169.254 metadata —, uniqueLocal — fd00:ec2::254 —, carrierGradeNat —
 * 100.100.100.200 —, unspecified, multicast, reserved, 6to4/teredo/NAT64 embeddings...). An
 * IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  return parsed.range() === 'unicast';
}

/** Thrown at send time: the attempt fails (and is retried) with this as its error. */
export class TargetRefused extends Error {}

/** The URL rules of contract §12 for webhook targets, at save time and again at every send. */
@Injectable()
export class WebhookTargetGuard {
  constructor(
    readonly resolver: WebhookResolver,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** http(s), absolute, no user name or password, at most 2048 characters: 400 WEBHOOK_URL_INVALID otherwise. */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppException(WebhooksErrors.WEBHOOK_URL_INVALID);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || !url.hostname || raw.length > 2048) {
      throw new AppException(WebhooksErrors.WEBHOOK_URL_INVALID);
    }
    return url;
  }

  /** Save time: a name that resolves only later is checked at send time; one resolving to a refused address is 400 now. */
  async checkOnSave(raw: string): Promise<string> {
    const url = this.parse(raw);
    if (this.config.webhooks.allowPrivateTargets) return url.toString();
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.addressesOf(url);
    } catch {
      return url.toString();
    }
    if (addresses.some(({ address }) => !isPublicAddress(address))) throw new AppException(WebhooksErrors.WEBHOOK_TARGET_NOT_ALLOWED);
    return url.toString();
  }

  /**
   * Send time: resolves the name and answers the address to connect to, so the connection goes to
   * exactly the address checked here (a DNS answer that changes in between cannot slip a private one in).
   */
  async resolveForSend(url: URL): Promise<ResolvedAddress> {
    const addresses = await this.addressesOf(url);
    if (!addresses.length) throw new TargetRefused(`${url.hostname} did not resolve`);
    if (!this.config.webhooks.allowPrivateTargets) {
      const refused = addresses.find(({ address }) => !isPublicAddress(address));
      if (refused) throw new TargetRefused('target address not allowed (private, loopback, link-local or metadata)');
    }
    return addresses[0];
  }

  private async addressesOf(url: URL): Promise<ResolvedAddress[]> {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(host);
    if (family) return [{ address: host, family: family as 4 | 6 }];
    return this.resolver.lookup(host);
  }
}
