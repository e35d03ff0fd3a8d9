import { type ChildProcess, fork } from 'node:child_process';
import type {
  DeviceStatus,
  Notice,
  Reply,
  Request,
  ServerConfig,
} from '../../../core/sim/functionfs/protocol';

/*
 * The guest's handle on the FunctionFS device server process (core/sim/functionfs/main.ts): it is
 * a separate process so that everything the checks do to the devices goes through the kernel.
 */

type Pending = { resolve: (r: Reply) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class DeviceServer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  readonly notices: Notice[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Reply | Notice) => {
      if ('notice' in m) {
        this.notices.push(m);
        for (const w of [...this.waiters]) w();
        return;
      }
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.resolve(m);
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`device server exited (${code})`));
      this.pending.clear();
    });
  }

  /** Starts the server and waits until every device has enumerated. */
  static async start(script: string, config: ServerConfig, logFile: number): Promise<DeviceServer> {
    const threads = 4 + 2 * config.devices.length;
    const child = fork(script, [JSON.stringify(config)], {
      stdio: ['ignore', logFile, logFile, 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
      execArgv: ['--disable-warning=ExperimentalWarning'],
    });
    const server = new DeviceServer(child);
    await server.waitFor((n) => n.notice === 'ready', 60_000, 'the device server to start');
    return server;
  }

  async request(r: DistributiveOmit<Request, 'id'>): Promise<Reply & { ok: true }> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...r, id });
    });
    if (!reply.ok) throw new Error(`device server: ${reply.error}`);
    return reply;
  }

  async status(): Promise<readonly DeviceStatus[]> {
    return (await this.request({ cmd: 'status' })).status ?? [];
  }

  async device(deviceId: string): Promise<DeviceStatus> {
    const s = (await this.status()).find((d) => d.deviceId === deviceId);
    if (!s) throw new Error(`no emulated device ${deviceId}`);
    return s;
  }

  async readFlash(deviceId: string, address: number, length: number, alt = 0): Promise<Buffer> {
    const r = await this.request({ cmd: 'read-flash', device: deviceId, alt, address, length });
    return Buffer.from(r.data ?? '', 'base64');
  }

  /** Resolves with the first notice (from now on, or already seen after `since`) matching. */
  waitFor(
    match: (n: Notice) => boolean,
    timeoutMs: number,
    what: string,
    since = this.notices.length,
  ): Promise<Notice> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = this.notices.slice(since).find(match);
        if (!hit) return false;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
      }, timeoutMs);
      if (!check()) this.waiters.add(check);
    });
  }

  async stop(): Promise<void> {
    await this.request({ cmd: 'stop' }).catch(() => undefined);
  }
}
