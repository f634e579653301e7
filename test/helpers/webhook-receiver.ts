import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** How the receiver answers: 2xx, 500, never (hangs), closes the socket, redirects, or a 2xx with a body far over 64 KiB. */
export type ReceiverMode = 'ok' | 'error' | 'hang' | 'close' | 'redirect' | 'huge';

export interface ReceivedWebhook {
  id: string;
  timestamp: number;
  signature: string;
  body: { id: string; type: string; timestamp: string; data: Record<string, unknown> };
  raw: string;
  /** Which of the receiver's secrets verified it, by the standardwebhooks package (an independent implementation). */
  verifiedWith: string[];
  mode: ReceiverMode;
  at: number;
}

/**
 * A webhook receiver on loopback for the specs. Every request is checked with the `standardwebhooks`
 * npm package against each secret it knows (with the timestamp tolerance measured on `now`, the test's
 * clock); a request arriving while another with the same webhook-id is still being answered is counted
 * as a concurrent duplicate.
 */
export class WebhookReceiver {
  mode: ReceiverMode = 'ok';
  secrets: string[] = [];
  readonly received: ReceivedWebhook[] = [];
  concurrentDuplicates = 0;
  /** Bytes of the huge answer that were written before the sender hung up. */
  hugeBytesWritten = 0;
  delayMs = 0;
  /** Requests being answered, by webhook-id (a count: a concurrent duplicate makes it 2). */
  private readonly inFlight = new Map<string, number>();
  private readonly hanging = new Set<ServerResponse>();
  private server!: Server;
  url = '';

  constructor(private readonly now: () => number = Date.now) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Those verified by at least one of the receiver's secrets. */
  get verified(): ReceivedWebhook[] {
    return this.received.filter((hook) => hook.verifiedWith.length > 0);
  }

  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`received ${this.received.length} of ${count} webhooks`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private verify(raw: string, headers: Record<string, string>): string[] {
    return this.secrets.filter((secret) => {
      const hook = new Webhook(secret);
      // The package checks the timestamp against Date.now(); the service's clock is the test's.
      (hook as unknown as { verifyTimestamp(header: string): Date }).verifyTimestamp = (header: string) => {
        const timestamp = Number.parseInt(header, 10);
        if (Math.abs(Math.floor(this.now() / 1000) - timestamp) > 300) throw new Error('timestamp out of tolerance');
        return new Date(timestamp * 1000);
      };
      try {
        hook.verify(raw, headers);
        return true;
      } catch {
        return false;
      }
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const headers = { 'webhook-id': String(request.headers['webhook-id']), 'webhook-timestamp': String(request.headers['webhook-timestamp']), 'webhook-signature': String(request.headers['webhook-signature']) };
    const id = headers['webhook-id'];
    if (this.inFlight.get(id)) this.concurrentDuplicates += 1;
    this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1);
    // Until the answer is complete or the sender hung up (a killed instance, a timeout).
    let open = true;
    const done = () => {
      if (!open) return;
      open = false;
      const left = (this.inFlight.get(id) ?? 1) - 1;
      if (left) this.inFlight.set(id, left);
      else this.inFlight.delete(id);
    };
    response.on('close', done);
    const mode = this.mode;
    this.received.push({
      id,
      timestamp: Number(headers['webhook-timestamp']),
      signature: headers['webhook-signature'],
      body: JSON.parse(raw),
      raw,
      verifiedWith: this.verify(raw, headers),
      mode,
      at: this.now(),
    });
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    switch (mode) {
      case 'ok':
        response.writeHead(204).end(done);
        return;
      case 'error':
        response.writeHead(500, { 'content-type': 'text/plain' }).end('broken', done);
        return;
      case 'redirect':
        response.writeHead(307, { location: `${this.url}/elsewhere` }).end(done);
        return;
      case 'close':
        request.socket.destroy();
        done();
        return;
      case 'hang':
        this.hanging.add(response);
        return;
      case 'huge': {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        const block = Buffer.alloc(16 * 1024, 97);
        for (let i = 0; i < 640 && !response.destroyed; i++) {
          if (!response.write(block)) await new Promise((resolve) => { response.once('drain', resolve); response.once('close', resolve); });
          if (!response.destroyed) this.hugeBytesWritten += block.length;
        }
        response.end();
        return;
      }
    }
  }
}
