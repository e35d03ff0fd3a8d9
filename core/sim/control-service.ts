import {
  encodeDeviceIdReply,
  encodeDeviceModeReply,
  encodeModuleInfoReply,
  encodeSystemVersionReply,
} from './protobuf';
import type { ControlResult, SetupPacket, SimModule } from './types';

/**
 * Device OS's USB control-request channel, as particle-usb 4.1.0 speaks to it
 * (src/usb-protocol.js, src/device-base.js). Vendor requests to the device recipient:
 * bRequest 1 INIT (wIndex = request type, wValue = payload size), 2 CHECK, 3 SEND (the only OUT),
 * 4 RECV, 5 RESET (wIndex = request ID, 0 = all). Replies to INIT/CHECK/RESET are
 * `u32 flags, u16 status [, u16 id][, u32 size][, i32 result]` little-endian, fields present as
 * flagged (STATUS 1, ID 2, SIZE 4, RESULT 8). bRequest 0x50 ('P') carries the legacy requests
 * (wIndex 30 system version IN; wIndex 40 reset OUT, used by `reset({ force: true })`).
 */

export const SERVICE = { INIT: 1, CHECK: 2, SEND: 3, RECV: 4, RESET: 5 } as const;
export const PARTICLE_BREQUEST = 0x50;
export const SERVICE_STATUS = { OK: 0, ERROR: 1, PENDING: 2, BUSY: 3, NO_MEMORY: 4, NOT_FOUND: 5 } as const;

export const CTRL_REQUEST = {
  APP_CUSTOM: 10,
  GET_DEVICE_ID: 20,
  GET_SERIAL_NUMBER: 21,
  SYSTEM_VERSION: 30,
  RESET: 40,
  DFU_MODE: 50,
  START_LISTENING: 70,
  STOP_LISTENING: 71,
  GET_DEVICE_MODE: 72,
  SET_DEVICE_SETUP_DONE: 73,
  IS_DEVICE_SETUP_DONE: 74,
  GET_PROTECTED_STATE: 76,
  SET_PROTECTED_STATE: 77,
  MODULE_INFO: 90,
  GET_ASSET_INFO: 91,
  START_FIRMWARE_UPDATE: 250,
  FINISH_FIRMWARE_UPDATE: 251,
  CANCEL_FIRMWARE_UPDATE: 252,
  FIRMWARE_UPDATE_DATA: 253,
  CELLULAR_GET_ICCID: 554,
} as const;

/** Device OS system_error_t values the simulator returns (services/inc/system_error.h). */
export const SYSTEM_ERROR = {
  NONE: 0,
  NOT_SUPPORTED: -120,
  TIMEOUT: -160,
  INVALID_STATE: -210,
  INVALID_ARGUMENT: -270,
  BAD_DATA: -280,
  OUT_OF_RANGE: -290,
  PROTECTED: -1801,
} as const;

/**
 * What a protected device still answers over USB (security_mode_check_control_request): the
 * protection requests themselves, the device ID and the application's own requests. Everything
 * else completes with -1801.
 */
const ALLOWED_WHEN_PROTECTED: ReadonlySet<number> = new Set([
  CTRL_REQUEST.SET_PROTECTED_STATE,
  CTRL_REQUEST.GET_PROTECTED_STATE,
  CTRL_REQUEST.GET_DEVICE_ID,
  CTRL_REQUEST.APP_CUSTOM,
]);

/** The largest payload the device will allocate for one request (particle-usb caps at 0xFFFF). */
const MAX_PAYLOAD = 0xffff;
/** Device OS keeps a handful of requests in flight; more are answered BUSY. */
const MAX_ACTIVE = 4;

export interface ReplyFields {
  readonly status: number;
  readonly id?: number;
  readonly size?: number;
  readonly result?: number;
}

export const encodeServiceReply = (r: ReplyFields): Uint8Array => {
  let flags = 0x01;
  let size = 6;
  if (r.id !== undefined) {
    flags |= 0x02;
    size += 2;
  }
  if (r.size !== undefined) {
    flags |= 0x04;
    size += 4;
  }
  if (r.result !== undefined) {
    flags |= 0x08;
    size += 4;
  }
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  v.setUint32(0, flags, true);
  v.setUint16(4, r.status, true);
  let o = 6;
  if (r.id !== undefined) {
    v.setUint16(o, r.id, true);
    o += 2;
  }
  if (r.size !== undefined) {
    v.setUint32(o, r.size, true);
    o += 4;
  }
  if (r.result !== undefined) v.setInt32(o, r.result, true);
  return out;
};

/** How the device answered a request it handles itself (firmware update, setup done, protection). */
export interface RequestOutcome {
  readonly result: number;
  readonly reply?: Uint8Array;
  /** Unscaled device time beyond the usual processing (an erase, a flash write). */
  readonly deviceMs?: number;
  /** Runs once the host has seen the result (apply an update and reset). */
  readonly after?: () => void;
}

/** What the control service needs from the device it lives in. */
export interface ControlHost {
  readonly deviceId: string;
  readonly listening: boolean;
  readonly systemVersion: string;
  readonly modules: readonly SimModule[];
  /** Device OS ≥ 5.6.0 reports modules in the new GetModuleInfoReply format. */
  readonly newModuleInfoFormat: boolean;
  /** Protected and not in Service Mode: only a few requests are answered. */
  readonly protectedNow: boolean;
  /**
   * Modelled processing time of one request plus `extraMs` of device work, in wall-clock ms
   * (scaled, and accounted by the device).
   */
  processingDelay(extraMs?: number): number;
  /** The requests the device model handles; undefined = not supported (-120). */
  handleRequest(type: number, payload: Uint8Array): RequestOutcome | undefined;
  /** Reset after the reply has gone out; `dfu` enters the bootloader. */
  requestReset(target: 'normal' | 'dfu'): void;
  setListening(on: boolean): void;
  /** Fault hook: returns true when this service request should answer BUSY. */
  takeBusyReply(): boolean;
}

interface Pending {
  readonly type: number;
  readonly payload: Uint8Array;
  received: number;
  /** Wall-clock time (performance.now) when processing completes; undefined until all data arrived. */
  doneAt: number | undefined;
  result: number;
  reply: Uint8Array;
  sent: number;
  /** Side effect to run once the host has seen the result (reset, mode change). */
  after: (() => void) | undefined;
}

const ok = (data?: Uint8Array): ControlResult => (data ? { status: 'ok', data } : { status: 'ok' });
const STALL: ControlResult = { status: 'stall' };

export class ControlService {
  private readonly pending = new Map<number, Pending>();
  private lastId = 0;
  /**
   * Device OS processes requests one at a time on the system thread: a request waits for the one
   * before it (a START erasing the OTA area holds up everything behind it).
   */
  private systemBusyUntil = 0;
  private held = false;

  constructor(private readonly host: ControlHost) {}

  /** Forget every request (the device reset). */
  clear(): void {
    this.pending.clear();
    this.systemBusyUntil = 0;
    this.held = false;
  }

  /**
   * The system thread is busy until the device resets (applying an NCP update): requests are
   * accepted but stay PENDING, and the reset loses them.
   */
  holdUntilReset(): void {
    this.held = true;
  }

  handle(setup: SetupPacket, dataOut: Uint8Array | undefined, nowMs: number): ControlResult {
    const isIn = (setup.bmRequestType & 0x80) !== 0;
    if (setup.bRequest === PARTICLE_BREQUEST) return this.legacy(setup, isIn);
    switch (setup.bRequest) {
      case SERVICE.INIT:
        return isIn ? this.init(setup, nowMs) : STALL;
      case SERVICE.CHECK:
        return isIn ? this.check(setup, nowMs) : STALL;
      case SERVICE.SEND:
        return isIn ? STALL : this.send(setup, dataOut ?? new Uint8Array(0), nowMs);
      case SERVICE.RECV:
        return isIn ? this.recv(setup) : STALL;
      case SERVICE.RESET:
        return isIn ? this.reset(setup) : STALL;
      default:
        return STALL;
    }
  }

  private legacy(setup: SetupPacket, isIn: boolean): ControlResult {
    if (isIn && setup.wIndex === CTRL_REQUEST.SYSTEM_VERSION) {
      // A NUL-terminated version string; particle-usb cuts at the first NUL.
      const text = new TextEncoder().encode(this.host.systemVersion);
      const out = new Uint8Array(Math.min(setup.wLength, text.length + 1));
      out.set(text.subarray(0, out.length));
      return ok(out);
    }
    if (!isIn && setup.wIndex === CTRL_REQUEST.RESET) {
      this.host.requestReset('normal');
      return ok();
    }
    if (!isIn && setup.wIndex === CTRL_REQUEST.DFU_MODE) {
      this.host.requestReset('dfu');
      return ok();
    }
    return STALL;
  }

  private init(setup: SetupPacket, nowMs: number): ControlResult {
    if (this.host.takeBusyReply() || this.pending.size >= MAX_ACTIVE) {
      return ok(encodeServiceReply({ status: SERVICE_STATUS.BUSY }));
    }
    if (setup.wValue > MAX_PAYLOAD) return ok(encodeServiceReply({ status: SERVICE_STATUS.NO_MEMORY }));
    this.lastId = (this.lastId % 0xffff) + 1;
    const id = this.lastId;
    const p: Pending = {
      type: setup.wIndex,
      payload: new Uint8Array(setup.wValue),
      received: 0,
      doneAt: undefined,
      result: 0,
      reply: new Uint8Array(0),
      sent: 0,
      after: undefined,
    };
    this.pending.set(id, p);
    if (setup.wValue === 0) this.process(p, nowMs);
    return ok(encodeServiceReply({ status: SERVICE_STATUS.OK, id }));
  }

  private send(setup: SetupPacket, data: Uint8Array, nowMs: number): ControlResult {
    const p = this.pending.get(setup.wIndex);
    if (!p || p.received + data.length > p.payload.length) return STALL;
    p.payload.set(data, p.received);
    p.received += data.length;
    if (p.received === p.payload.length) this.process(p, nowMs);
    return ok();
  }

  private check(setup: SetupPacket, nowMs: number): ControlResult {
    const p = this.pending.get(setup.wIndex);
    if (!p) return ok(encodeServiceReply({ status: SERVICE_STATUS.NOT_FOUND }));
    if (p.doneAt === undefined || nowMs < p.doneAt) {
      return ok(encodeServiceReply({ status: SERVICE_STATUS.PENDING }));
    }
    const fields: ReplyFields =
      p.reply.length > 0
        ? { status: SERVICE_STATUS.OK, size: p.reply.length, result: p.result }
        : { status: SERVICE_STATUS.OK, result: p.result };
    if (p.reply.length === 0) this.finish(setup.wIndex, p);
    return ok(encodeServiceReply(fields));
  }

  private recv(setup: SetupPacket): ControlResult {
    const p = this.pending.get(setup.wIndex);
    if (!p || p.doneAt === undefined) return STALL;
    const chunk = p.reply.subarray(p.sent, p.sent + setup.wLength);
    p.sent += chunk.length;
    if (p.sent >= p.reply.length) this.finish(setup.wIndex, p);
    return ok(chunk.slice());
  }

  private reset(setup: SetupPacket): ControlResult {
    if (setup.wIndex === 0) this.pending.clear();
    else this.pending.delete(setup.wIndex);
    return ok(encodeServiceReply({ status: SERVICE_STATUS.OK }));
  }

  private finish(id: number, p: Pending): void {
    this.pending.delete(id);
    p.after?.();
  }

  /** Runs the request (all payload received); the result becomes visible after the processing delay. */
  private process(p: Pending, nowMs: number): void {
    const extraMs = this.run(p);
    const begin = Math.max(nowMs, this.systemBusyUntil);
    p.doneAt = this.held ? Number.POSITIVE_INFINITY : begin + this.host.processingDelay(extraMs);
    this.systemBusyUntil = p.doneAt;
  }

  /** Produces the result and reply; returns the extra device time it takes (unscaled ms). */
  private run(p: Pending): number {
    const h = this.host;
    if (h.protectedNow && !ALLOWED_WHEN_PROTECTED.has(p.type)) {
      p.result = SYSTEM_ERROR.PROTECTED;
      return 0;
    }
    switch (p.type) {
      case CTRL_REQUEST.GET_DEVICE_ID:
        p.reply = encodeDeviceIdReply(h.deviceId);
        break;
      case CTRL_REQUEST.SYSTEM_VERSION:
        // The service-request form (GetSystemVersionRequest); the legacy 0x50 one is above.
        p.reply = encodeSystemVersionReply(h.systemVersion);
        break;
      case CTRL_REQUEST.GET_DEVICE_MODE:
        p.reply = encodeDeviceModeReply(h.listening);
        break;
      case CTRL_REQUEST.MODULE_INFO:
        p.reply = encodeModuleInfoReply(h.modules, h.newModuleInfoFormat);
        break;
      case CTRL_REQUEST.RESET:
        p.after = () => h.requestReset('normal');
        break;
      case CTRL_REQUEST.DFU_MODE:
        p.after = () => h.requestReset('dfu');
        break;
      case CTRL_REQUEST.START_LISTENING:
        h.setListening(true);
        break;
      case CTRL_REQUEST.STOP_LISTENING:
        h.setListening(false);
        break;
      default: {
        const o = h.handleRequest(p.type, p.payload);
        if (!o) {
          p.result = SYSTEM_ERROR.NOT_SUPPORTED;
          break;
        }
        p.result = o.result;
        if (o.reply) p.reply = o.reply;
        p.after = o.after;
        return o.deviceMs ?? 0;
      }
    }
    return 0;
  }
}
