import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of the line database, for network faults: `cutWhen` sees
 * each chunk the station sends and, when it returns true, both sockets are destroyed before the
 * chunk is passed on (a cable pulled mid-transaction); `cutAll` does the same to every open
 * connection; `setDelay` holds the server's answers (a slow database).
 */
export interface TcpProxy {
  readonly port: number;
  /** Connections cut so far. */
  readonly cuts: number;
  cutAll(): void;
  setCutWhen(fn: ((chunk: Buffer) => boolean) | undefined): void;
  /** Holds every answer of the server this long before passing it on (a slow database or link). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export const startTcpProxy = async (target: { host: string; port: number }): Promise<TcpProxy> => {
  const open = new Set<Socket>();
  let cutWhen: ((chunk: Buffer) => boolean) | undefined;
  let cuts = 0;
  let delayMs = 0;
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const cut = () => {
      cuts++;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (cutWhen?.(chunk)) {
        cut();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (delayMs > 0) setTimeout(() => client.write(chunk), delayMs);
      else client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    get cuts() {
      return cuts;
    },
    cutAll() {
      for (const s of open) s.destroy();
      cuts++;
    },
    setCutWhen(fn) {
      cutWhen = fn;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
};
