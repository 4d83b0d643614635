// SSH gates: each instance's loopback address (127.x.y.z) listens on the shared SSH port only once the
// instance has "booted", and forwards every connection to one real sshd (sshTarget). Before boot the
// address has no listener, so a connect is refused exactly like a booting EC2 instance; on stop or
// terminate the listener closes and open connections are cut. Linux routes all of 127.0.0.0/8 to lo,
// so binding these addresses needs no setup. Each gate connects upstream FROM its instance's address, so
// sshd sees that address as the client's: its AuthorizedKeysCommand tells the instances apart by it.
import net from 'node:net';

export interface SshTarget {
  host: string;
  port: number;
}

interface Gate {
  server: net.Server;
  sockets: Set<net.Socket>;
  ready: Promise<void>;
}

export class Gates {
  private readonly gates = new Map<string, Gate>();
  readonly errors: string[] = [];

  constructor(
    private readonly port: number | undefined,
    private readonly target: SshTarget | undefined,
  ) {}

  get enabled(): boolean {
    return this.port !== undefined && this.target !== undefined;
  }

  isOpen(address: string): boolean {
    return this.gates.has(address);
  }

  /** Starts listening on address:port (idempotent). Resolves once the listener is up. */
  open(address: string): Promise<void> {
    const { port, target } = this;
    if (port === undefined || target === undefined) return Promise.resolve();
    const existing = this.gates.get(address);
    if (existing) return existing.ready;
    if (!address.startsWith('127.')) throw new Error(`refusing to listen outside loopback: ${address}`);
    const sockets = new Set<net.Socket>();
    // No Nagle on either hop, like a direct connection to an instance: the action's SSH socket
    // sets TCP_NODELAY, and a proxy that buffered small writes would add its delay to every round trip.
    const server = net.createServer({ noDelay: true }, (client) => {
      const upstream = net.connect({
        port: target.port,
        host: target.host,
        localAddress: address,
        noDelay: true,
      });
      sockets.add(client).add(upstream);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    const ready = new Promise<void>((resolve) => {
      server.once('error', (err) => {
        this.errors.push(`${address}:${port}: ${err.message}`);
        this.gates.delete(address);
        resolve();
      });
      server.listen({ host: address, port, exclusive: true }, () => resolve());
    });
    this.gates.set(address, { server, sockets, ready });
    return ready;
  }

  /** Stops listening and cuts open connections (instance stopped or terminated). */
  close(address: string): Promise<void> {
    const gate = this.gates.get(address);
    if (!gate) return Promise.resolve();
    this.gates.delete(address);
    for (const s of gate.sockets) s.destroy();
    return new Promise((resolve) => gate.server.close(() => resolve()));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.gates.keys()].map((a) => this.close(a)));
  }
}
