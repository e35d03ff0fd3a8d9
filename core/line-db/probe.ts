import { connect } from 'node:net';

/**
 * What answers at the line database's host and port. pg only reports "Connection terminated
 * unexpectedly" or a timeout when the other end is a web server, an SSH daemon or a silent
 * socket; an engineer needs "that is not PostgreSQL". We send PostgreSQL's SSLRequest (8 bytes)
 * and look at the first byte back: a PostgreSQL server always answers it with exactly 'S' or
 * 'N' (or an 'E' error message from a very old one), before any authentication.
 */
export type ServerProbe =
  | { readonly kind: 'postgres' }
  | { readonly kind: 'not-postgres'; readonly banner: string }
  | { readonly kind: 'closed' }
  | { readonly kind: 'silent' }
  | { readonly kind: 'unreachable'; readonly message: string };

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** Printable start of what a non-PostgreSQL server said ("HTTP/1.1 400", "SSH-2.0-…"). */
const bannerOf = (data: Buffer): string =>
  data
    .subarray(0, 24)
    .toString('latin1')
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim();

export const probeServer = (host: string, port: number, timeoutMs = 2000): Promise<ServerProbe> =>
  new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host, port });
    const done = (p: ServerProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done({ kind: 'silent' }), timeoutMs);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', (data: Buffer) => {
      const first = data[0];
      const isPostgres = data.length === 1 && (first === 0x53 || first === 0x4e);
      const oldError = first === 0x45 && data.length > 5;
      done(isPostgres || oldError ? { kind: 'postgres' } : { kind: 'not-postgres', banner: bannerOf(data) });
    });
    socket.once('end', () => done({ kind: 'closed' }));
    socket.once('close', () => done({ kind: 'closed' }));
    socket.once('error', (e) => done({ kind: 'unreachable', message: e.message }));
  });
