import { createRequire } from 'node:module';
import { LsFailure } from '../../core/errors/result';
import { parseModule } from '../../core/firmware';
import { functionCode } from '../../core/firmware/module-parser';
import type {
  ControlSetup,
  TransferOptions,
  UsbDeviceHandle,
  UsbDeviceInfo,
  UsbEvent,
  UsbTransport,
} from '../../core/usb/transport';

/*
 * A device-side model of Device OS's normal-mode update (system/src/control/storage.cpp) on a
 * one-port bus that re-enumerates, for the host code's tests until core/sim answers request 250.
 * Requests are decoded and replies encoded with Particle's own protobuf definitions and
 * particle-usb's reply encoder, so the host's hand-written encoders are checked against them.
 * Each knob is one failure the host must name or survive.
 */

const require = createRequire(import.meta.url);
const pb = require('@particle/device-os-protobuf') as {
  encode(name: string, data?: Record<string, unknown>): Uint8Array;
  decode(name: string, bytes: Uint8Array): Record<string, unknown>;
};
const proto = require('particle-usb/src/usb-protocol.js') as {
  encodeReply(rep: { status: number; id?: number; size?: number; result?: number }): Buffer;
};

export const DEVICE_ID = 'e00fce68aaaaaaaaaaaaaaaa';
export const PORT = '1-2.3';

export interface FakeModule {
  type: number;
  index: number;
  version: number;
  hash?: Uint8Array;
  checkedFlags?: number;
  passedFlags?: number;
}

export interface FakeUpdateBehaviour {
  /** chunk_size in the START reply. Default 1024 (Device OS's). */
  chunkSize?: number;
  /** Results of successive STARTs (then 0). */
  startResults?: number[];
  /** CHECKs of START answered PENDING (the erase). */
  erasePendingChecks?: number;
  /** DATA results: the chunk index within one transfer, the result, and for how many transfers. */
  dataFault?: { chunk: number; result: number; transfers: number };
  /** Results of successive FINISHes (then 0). */
  finishResults?: number[];
  /** What FINISH leads to: installed, silently kept old, installed but failing checks, another hash. */
  apply?: 'yes' | 'no' | 'invalid' | 'other-hash';
  /** Reported hash for the installed module: the file's suffix SHA (default) or none. */
  reportHash?: 'suffix' | 'none';
  /** The device stays on the bus this long after FINISH (NCP install), then resets. */
  applyMs?: number;
  /** Off the bus this long during a reset. */
  rebootMs?: number;
  /** After a reset the device comes back in this mode; `never` stays away. */
  comeBack?: 'normal' | 'dfu' | 'never';
  /** GET_DEVICE_MODE polls that still say NORMAL after START_LISTENING. */
  listeningAfterPolls?: number;
  /** START_LISTENING answers this result (and the device stays in normal mode). */
  listeningResult?: number;
  /** GET_DEVICE_MODE answers NOT_SUPPORTED. */
  noModeRequest?: boolean;
  /** The device resets (leaves the bus) while receiving this chunk, once. */
  resetAtChunk?: number;
  /** A DATA transfer hangs (never completes) at this chunk. */
  hangAtChunk?: number;
  /** The device leaves the bus while FINISH is in flight (after accepting it). */
  resetDuringFinish?: boolean;
  /** MODULE_INFO results of successive reads after the reset (then 0). */
  moduleInfoResults?: number[];
  /** Replies to the small requests. */
  protectedState?: { result?: number; state?: boolean; overridden?: boolean };
  setupDone?: { setResult?: number; isResult?: number; done?: boolean };
}

export interface RequestLog {
  readonly type: number;
  readonly payload: Uint8Array;
  readonly key: string;
}

interface Pending {
  type: number;
  payload: Uint8Array;
  received: number;
  checks: number;
  reply?: { result: number; data: Uint8Array; after?: () => void };
  sent: number;
}

const gone = (code: 'USB_DISCONNECTED' | 'USB_NOT_FOUND') => new LsFailure({ code, message: code });

export class FakeUpdateDevice implements UsbTransport {
  readonly requests: RequestLog[] = [];
  readonly events: string[] = [];
  modules: FakeModule[];
  listening = false;
  attached = true;
  private generation = 1;
  private mode: 'normal' | 'dfu' = 'normal';
  private readonly listeners = new Set<(e: UsbEvent) => void>();
  private update: { size: number; got: number[] } | undefined;
  private transfers = 0;
  private modePolls = 0;
  private resetDone = false;
  private moduleReadsAfterReset = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly b: FakeUpdateBehaviour = {},
    modules?: FakeModule[],
  ) {
    this.modules = modules ?? [
      { type: 2, index: 0, version: 1200, hash: new Uint8Array(32).fill(0x11) },
      { type: 4, index: 1, version: 6201, hash: new Uint8Array(32).fill(0x22) },
      { type: 7, index: 0, version: 3, hash: new Uint8Array(32).fill(0x33) },
    ];
  }

  get info(): UsbDeviceInfo {
    return {
      key: `k${this.generation}`,
      portPath: PORT,
      vendorId: 0x2b04,
      productId: this.mode === 'dfu' ? 0xd00d : 0xc00d,
      serialNumber: DEVICE_ID,
    };
  }

  /** The requests of one type, in order. */
  of(type: number): RequestLog[] {
    return this.requests.filter((r) => r.type === type);
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
  }

  // ---- UsbTransport ----

  async list(): Promise<UsbDeviceInfo[]> {
    return this.attached ? [this.info] : [];
  }

  watch(listener: (e: UsbEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async open(info: UsbDeviceInfo): Promise<UsbDeviceHandle> {
    if (!this.attached || info.key !== this.info.key) throw gone('USB_NOT_FOUND');
    return new FakeHandle(this, info);
  }

  // ---- device ----

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Leaves the bus now and comes back after rebootMs as a new enumeration. */
  reset(): void {
    if (!this.attached) return;
    const old = this.info;
    this.attached = false;
    this.listening = false;
    this.update = undefined;
    this.resetDone = true;
    this.events.push(`detach ${old.key}`);
    for (const l of this.listeners) l({ type: 'detach', device: old });
    if (this.b.comeBack === 'never') return;
    this.later(this.b.rebootMs ?? 5, () => {
      this.generation++;
      this.mode = this.b.comeBack === 'dfu' ? 'dfu' : 'normal';
      this.attached = true;
      this.events.push(`attach ${this.info.key}`);
      for (const l of this.listeners) l({ type: 'attach', device: this.info });
    });
  }

  isCurrent(key: string): boolean {
    return this.attached && key === this.info.key;
  }

  private install(data: Uint8Array): void {
    const parsed = parseModule('upload', data);
    if (!parsed.ok) return;
    const m = parsed.module;
    const apply = this.b.apply ?? 'yes';
    if (apply === 'no') return;
    const type = functionCode(m.function);
    const hash =
      this.b.reportHash === 'none'
        ? undefined
        : apply === 'other-hash'
          ? new Uint8Array(32).fill(0xee)
          : Buffer.from(m.fwUniqueId, 'hex');
    const entry: FakeModule = {
      type,
      index: m.index,
      version: m.version,
      ...(hash ? { hash } : {}),
      checkedFlags: 0x1e,
      passedFlags: apply === 'invalid' ? 0x1a : 0x1e,
    };
    const at = this.modules.findIndex((x) => x.type === type && x.index === m.index);
    if (at >= 0) this.modules[at] = entry;
    else this.modules.push(entry);
  }

  /** Runs one request the host completed; `chunk` counts DATA requests within the transfer. */
  handle(type: number, payload: Uint8Array): { result: number; data?: Uint8Array; after?: () => void } {
    const b = this.b;
    switch (type) {
      case 70:
        if (b.listeningResult) return { result: b.listeningResult };
        this.modePolls = 0;
        this.listening = true;
        return { result: 0 };
      case 71:
        this.listening = false;
        return { result: 0 };
      case 72: {
        if (b.noModeRequest) return { result: -120 };
        const shown = this.listening && this.modePolls++ >= (b.listeningAfterPolls ?? 0);
        return { result: 0, data: pb.encode('GetDeviceModeReply', { mode: shown ? 1 : 0 }) };
      }
      case 73: {
        const req = pb.decode('SetDeviceSetupDoneRequest', payload);
        this.events.push(`setup-done ${String(req.done ?? false)}`);
        return { result: b.setupDone?.setResult ?? 0 };
      }
      case 74:
        return {
          result: b.setupDone?.isResult ?? 0,
          data: pb.encode('IsDeviceSetupDoneReply', { done: b.setupDone?.done ?? false }),
        };
      case 76: {
        const s = b.protectedState ?? {};
        return {
          result: s.result ?? 0,
          data: pb.encode('GetProtectedStateReply', {
            state: s.state ?? false,
            overridden: s.overridden ?? false,
          }),
        };
      }
      case 90: {
        if (this.resetDone) {
          const r = b.moduleInfoResults?.[this.moduleReadsAfterReset++];
          if (r) return { result: r };
        }
        return {
          result: 0,
          data: pb.encode('GetModuleInfoReply', {
            modules: this.modules.map((m) => ({
              type: m.type,
              index: m.index,
              version: m.version,
              checkedFlags: m.checkedFlags ?? 0x1e,
              passedFlags: m.passedFlags ?? 0x1e,
              ...(m.hash ? { hash: Buffer.from(m.hash) } : {}),
            })),
          }),
        };
      }
      case 250: {
        const req = pb.decode('StartFirmwareUpdateRequest', payload) as { size?: number; format?: number };
        this.update = undefined;
        const r = b.startResults?.shift();
        if (r) return { result: r };
        if (req.format) return { result: -120 };
        this.transfers++;
        this.update = { size: req.size ?? 0, got: [] };
        return {
          result: 0,
          data: pb.encode('StartFirmwareUpdateReply', { chunkSize: b.chunkSize ?? 1024 }),
        };
      }
      case 253: {
        const req = pb.decode('FirmwareUpdateDataRequest', payload) as { data?: Uint8Array };
        const data = req.data ?? new Uint8Array(0);
        if (!this.update) return { result: -210 };
        const chunk = Math.floor(this.update.got.length / (b.chunkSize ?? 1024));
        const f = b.dataFault;
        if (f && chunk === f.chunk && this.transfers <= f.transfers) {
          this.update = undefined;
          return { result: f.result };
        }
        if (data.length === 0 || this.update.got.length + data.length > this.update.size) {
          this.update = undefined;
          return { result: -290 };
        }
        this.update.got.push(...data);
        return { result: 0 };
      }
      case 251: {
        const req = pb.decode('FinishFirmwareUpdateRequest', payload) as { validateOnly?: boolean };
        if (!this.update) return { result: -210 };
        if (this.update.got.length !== this.update.size) {
          this.update = undefined;
          return { result: -210 };
        }
        const r = b.finishResults?.shift();
        const data = Uint8Array.from(this.update.got);
        this.update = undefined;
        if (r) return { result: r };
        if (req.validateOnly) return { result: 0 };
        return {
          result: 0,
          after: () => {
            this.install(data);
            this.later(b.applyMs ?? 0, () => this.reset());
          },
        };
      }
      case 252:
        this.update = undefined;
        this.events.push('cancel');
        return { result: 0 };
      default:
        return { result: -120 };
    }
  }

  /** Knobs the handle consults while a request is in flight. */
  dataChunkIndex(): number {
    return this.update ? Math.floor(this.update.got.length / (this.b.chunkSize ?? 1024)) : -1;
  }

  takeResetAtChunk(): boolean {
    if (this.b.resetAtChunk === undefined || this.dataChunkIndex() !== this.b.resetAtChunk) return false;
    this.b.resetAtChunk = undefined;
    return true;
  }
}

class FakeHandle implements UsbDeviceHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly dev: FakeUpdateDevice,
    readonly info: UsbDeviceInfo,
  ) {}

  private live(): void {
    if (!this.dev.isCurrent(this.info.key)) throw gone('USB_DISCONNECTED');
  }

  async controlIn(setup: ControlSetup, length: number, _o: TransferOptions): Promise<Uint8Array> {
    this.live();
    const reply = (r: { status: number; id?: number; size?: number; result?: number }): Uint8Array =>
      new Uint8Array(proto.encodeReply(r));
    switch (setup.request) {
      case 1: {
        const id = this.nextId++;
        this.pending.set(id, {
          type: setup.index,
          payload: new Uint8Array(setup.value),
          received: 0,
          checks: 0,
          sent: 0,
        });
        return reply({ status: 0, id });
      }
      case 2: {
        const p = this.pending.get(setup.index);
        if (!p) return reply({ status: 5 });
        if (p.received < p.payload.length) return reply({ status: 2 });
        if (!p.reply) {
          const b = this.dev.b;
          if (p.type === 250 && p.checks++ < (b.erasePendingChecks ?? 0)) return reply({ status: 2 });
          if (p.type === 253 && b.hangAtChunk !== undefined && this.dev.dataChunkIndex() === b.hangAtChunk)
            return reply({ status: 2 });
          if (p.type === 253 && this.dev.takeResetAtChunk()) {
            this.dev.reset();
            throw gone('USB_DISCONNECTED');
          }
          this.dev.requests.push({ type: p.type, payload: p.payload, key: this.info.key });
          const r = this.dev.handle(p.type, p.payload);
          p.reply = {
            result: r.result,
            data: r.data ?? new Uint8Array(0),
            ...(r.after ? { after: r.after } : {}),
          };
          if (p.type === 251 && b.resetDuringFinish && r.result === 0) {
            r.after?.();
            this.dev.reset();
            throw gone('USB_DISCONNECTED');
          }
        }
        const done = p.reply;
        if (done.data.length === 0) {
          this.pending.delete(setup.index);
          if (done.after) setTimeout(done.after, 0);
        }
        return reply({
          status: 0,
          result: done.result,
          ...(done.data.length ? { size: done.data.length } : {}),
        });
      }
      case 4: {
        const p = this.pending.get(setup.index);
        if (!p?.reply) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
        const chunk = p.reply.data.subarray(p.sent, p.sent + length);
        p.sent += chunk.length;
        if (p.sent >= p.reply.data.length) {
          this.pending.delete(setup.index);
          if (p.reply.after) setTimeout(p.reply.after, 0);
        }
        return chunk;
      }
      case 5:
        if (setup.index === 0) this.pending.clear();
        else this.pending.delete(setup.index);
        return reply({ status: 0 });
      default:
        throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
    }
  }

  async controlOut(setup: ControlSetup, data: Uint8Array | undefined, _o: TransferOptions): Promise<void> {
    this.live();
    const p = this.pending.get(setup.index);
    if (setup.request !== 3 || !p) throw new LsFailure({ code: 'USB_STALL', message: 'stall' });
    const d = data ?? new Uint8Array(0);
    p.payload.set(d, p.received);
    p.received += d.length;
  }

  async claimInterface(): Promise<void> {}
  async releaseInterface(): Promise<void> {}
  async selectAlternate(): Promise<void> {}
  async close(): Promise<void> {}
}
