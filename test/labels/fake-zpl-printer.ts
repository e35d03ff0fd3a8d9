import { createServer, type Server, type Socket } from 'node:net';

/**
 * A Zebra-compatible label printer for tests: a TCP listener on 127.0.0.1 that answers ~HS with
 * the three host-status strings a real printer sends, records every complete label format
 * (^XA … ^XZ) it receives, and has switches for the states a line meets: out of labels, head
 * open, paused, ribbon out, silent (accepts, never answers), a connection dropped in the middle
 * of a label (nothing printed), or dropped right after a label was read (printed, unconfirmed),
 * and unreachable (the port closed). Reusable by end-to-end tests.
 */

export interface FakeZplSwitches {
  paperOut: boolean;
  headOpen: boolean;
  paused: boolean;
  ribbonOut: boolean;
  /** Accept connections and read, but never answer ~HS. */
  noAnswer: boolean;
  /** Drop the connection in the middle of the next N labels (they are not printed). */
  dropMidJob: number;
  /** Drop the connection right after printing the next N labels, before answering the ~HS that follows. */
  dropAfterJob: number;
}

export interface PrintedJob {
  readonly zpl: string;
  /** Which connection (1-based) carried it. */
  readonly connection: number;
  /** Whether the printer said it was not ready when this label arrived (a real one would still queue it). */
  readonly whileNotReady: boolean;
}

export interface FakeZplPrinter {
  readonly host: string;
  readonly port: number;
  /** Labels printed, in order. */
  jobs(): PrintedJob[];
  /** Count of ~HS requests answered or ignored. */
  statusQueries(): number;
  connections(): number;
  set(switches: Partial<FakeZplSwitches>): void;
  /** Closes the port: connections are refused (unreachable) until `listen()`. */
  unlisten(): Promise<void>;
  /** Opens the same port again. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

const STX = '\x02';
const ETX = '\x03';

const frame = (s: string) => `${STX}${s}${ETX}\r\n`;

const hostStatus = (s: FakeZplSwitches): string =>
  frame(`030,${s.paperOut ? 1 : 0},${s.paused ? 1 : 0},1218,000,0,0,0,000,0,0,0`) +
  frame(`001,0,${s.headOpen ? 1 : 0},${s.ribbonOut ? 1 : 0},0,2,4,0,00000000,1,000`) +
  frame('1234,0');

export const startFakeZplPrinter = async (
  initial: Partial<FakeZplSwitches> = {},
): Promise<FakeZplPrinter> => {
  const switches: FakeZplSwitches = {
    paperOut: false,
    headOpen: false,
    paused: false,
    ribbonOut: false,
    noAnswer: false,
    dropMidJob: 0,
    dropAfterJob: 0,
    ...initial,
  };
  const printed: PrintedJob[] = [];
  const sockets = new Set<Socket>();
  let queries = 0;
  let connectionCount = 0;

  const notReady = () => switches.paperOut || switches.headOpen || switches.paused || switches.ribbonOut;

  const onConnection = (socket: Socket) => {
    const connection = ++connectionCount;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('latin1');
    let buffer = '';
    let dropBeforeNextAnswer = false;
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      // Tilde commands are answered as read; formats print once their ^XZ arrives.
      for (;;) {
        const hs = buffer.indexOf('~HS');
        const xa = buffer.indexOf('^XA');
        if (hs < 0 && xa < 0) break;
        if (hs >= 0 && (xa < 0 || hs < xa)) {
          buffer = buffer.slice(hs + 3);
          queries++;
          if (dropBeforeNextAnswer) {
            socket.destroy();
            return;
          }
          if (!switches.noAnswer) socket.write(hostStatus(switches), 'latin1');
          continue;
        }
        if (switches.dropMidJob > 0) {
          switches.dropMidJob--;
          buffer = '';
          socket.destroy();
          return;
        }
        const xz = buffer.indexOf('^XZ', xa);
        if (xz < 0) break;
        printed.push({ zpl: buffer.slice(xa, xz + 3), connection, whileNotReady: notReady() });
        buffer = buffer.slice(xz + 3);
        if (switches.dropAfterJob > 0) {
          switches.dropAfterJob--;
          dropBeforeNextAnswer = true;
        }
      }
    });
  };

  let server: Server = createServer(onConnection);
  const listenOn = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  const port = await listenOn(0);

  const unlisten = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });

  return {
    host: '127.0.0.1',
    port,
    jobs: () => [...printed],
    statusQueries: () => queries,
    connections: () => connectionCount,
    set(next) {
      Object.assign(switches, next);
    },
    unlisten,
    async listen() {
      server = createServer(onConnection);
      await listenOn(port);
    },
    async close() {
      if (server.listening) await unlisten();
    },
  };
};
