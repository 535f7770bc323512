// A TCP proxy of a test's own between one daemon and Redis, to cut that
// daemon off as a network partition would: paused, connections stay open
// and new ones are accepted, but no byte passes either way; what was sent
// meanwhile (and a close) is held and delivered on resume, as TCP delivers
// a partitioned peer's retransmissions once the path heals.

import net from 'node:net';

type Held = Buffer | 'end';

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly toUpstream: Held[];
  readonly toClient: Held[];
}

export class PausableProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();
  #paused = false;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  /** Listens on a free 127.0.0.1 port and forwards to `target`. */
  static async start(target: { host: string; port: number }): Promise<PausableProxy> {
    const server = net.createServer();
    const proxy = new PausableProxy(server);
    server.on('connection', (client) => proxy.#accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  #accept(client: net.Socket, target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [] };
    this.#pairs.add(pair);
    const forward = (to: net.Socket, held: Held[]) => (data: Held) => {
      if (this.#paused) held.push(data);
      else if (data === 'end') to.end();
      else to.write(data);
    };
    const up = forward(upstream, pair.toUpstream);
    const down = forward(client, pair.toClient);
    client.on('data', up);
    client.on('end', () => up('end'));
    upstream.on('data', down);
    upstream.on('end', () => down('end'));
    const drop = (): void => {
      // A reset on either side: gone for good once not held back.
      if (!this.#paused) {
        client.destroy();
        upstream.destroy();
        this.#pairs.delete(pair);
      }
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  }

  /** Cuts the path: nothing passes until resume(). */
  pause(): void {
    this.#paused = true;
  }

  /** Heals it: what was held goes through, in order, then traffic flows again. */
  resume(): void {
    this.#paused = false;
    for (const pair of [...this.#pairs]) {
      for (const [held, to] of [
        [pair.toUpstream, pair.upstream],
        [pair.toClient, pair.client],
      ] as const) {
        for (const data of held.splice(0)) {
          if (to.destroyed) break;
          if (data === 'end') to.end();
          else to.write(data);
        }
      }
      if (pair.client.destroyed || pair.upstream.destroyed) {
        // Closed while paused: what it sent has been delivered; now the close.
        pair.client.end();
        pair.upstream.end();
        this.#pairs.delete(pair);
      }
    }
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
