import { AddressInfo, createServer, connect, Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real service (MariaDB, Redis) that a test can cut and restore, so
 * faults are simulated without touching the shared service other engineers' tests use.
 * cut(): every connection is destroyed and nothing listens (connection refused);
 * stall(): connections stay open but nothing is read any more (a service that hangs; TCP keeps the
 *   bytes, and they flow again on restore);
 * cutWhen(marker): the moment a client sends bytes containing `marker` (e.g. one SQL statement of a
 *   transaction), those bytes are dropped and the proxy cuts — the service dies between two statements;
 * restore(): listens again on the same port and passes traffic.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  private trigger: { marker: Buffer; fired: () => void } | null = null;
  port = 0;

  private constructor(private readonly targetHost: string, private readonly targetPort: number) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await proxy.listen(0);
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  private listen(port: number): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      if (this.stalled) {
        client.pause();
        upstream.pause();
      }
      this.forwardWatched(client, upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        this.port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Client → service, byte for byte, except that an armed marker cuts everything before it is passed on. */
  private forwardWatched(client: Socket, upstream: Socket): void {
    // The tail of the previous chunk, so that a marker split across two chunks is still seen.
    let tail = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      const trigger = this.trigger;
      if (trigger) {
        const seen = Buffer.concat([tail, chunk]);
        if (seen.includes(trigger.marker)) {
          this.trigger = null;
          void this.cut().then(trigger.fired);
          return;
        }
        tail = seen.subarray(Math.max(0, seen.length - trigger.marker.length + 1));
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => {
      if (!this.stalled) client.resume();
    });
    client.on('end', () => upstream.end());
  }

  /**
   * Arms a cut for the moment a client sends `marker`; resolves once it has happened. The bytes
   * carrying the marker never reach the service, so what the client sent before them is all it got.
   */
  cutWhen(marker: string): Promise<void> {
    return new Promise((fired) => {
      this.trigger = { marker: Buffer.from(marker), fired };
    });
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) socket.pause();
  }

  /** Passes traffic again (and disarms a cutWhen that never fired). */
  async restore(): Promise<void> {
    this.trigger = null;
    this.stalled = false;
    for (const socket of this.sockets) socket.resume();
    if (!this.server) await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.trigger = null;
    await this.cut();
  }
}

/** Retries `probe` until it returns true or `withinMs` passes; returns whether it did. */
export async function eventually(probe: () => Promise<boolean>, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
