import { DFU_REQUEST, DFUSE_COMMAND, SimDevice, type SimDeviceOptions } from '../../core/sim';
import type { ControlResult, SetupPacket } from '../../core/sim/types';

/** A device with time scaled to zero: every modelled delay is skipped, the logic is not. */
export const fastDevice = (platform: string, options: Partial<SimDeviceOptions> = {}): SimDevice => {
  const d = new SimDevice({ platform, seed: platform, timeScale: 0, ...options });
  d.powerOn();
  return d;
};

export const inSetup = (
  bmRequestType: number,
  bRequest: number,
  wValue: number,
  wIndex: number,
  wLength: number,
) => ({ bmRequestType: bmRequestType | 0x80, bRequest, wValue, wIndex, wLength }) satisfies SetupPacket;

export const outSetup = (
  bmRequestType: number,
  bRequest: number,
  wValue: number,
  wIndex: number,
  wLength: number,
) => ({ bmRequestType: bmRequestType & 0x7f, bRequest, wValue, wIndex, wLength }) satisfies SetupPacket;

/** The byte at `i`; a missing byte is a test failure, not a silent undefined. */
export const byte = (b: Uint8Array, i: number): number => {
  const v = b[i];
  if (v === undefined) throw new Error(`no byte at offset ${i} of ${b.length}`);
  return v;
};

export const dataOf = (r: ControlResult): Uint8Array => {
  if (r.status !== 'ok') throw new Error(`expected ok, got ${r.status}`);
  return r.data ?? new Uint8Array(0);
};

/** GET_DESCRIPTOR (USB 2.0 §9.4.3) the way a host reads it. */
export const getDescriptor = async (d: SimDevice, type: number, index: number, length = 255, langId = 0) =>
  dataOf(await d.handleControl(inSetup(0x80, 0x06, (type << 8) | index, langId, length)));

export const readString = async (d: SimDevice, index: number): Promise<string> => {
  const b = await getDescriptor(d, 3, index, 255, 0x0409);
  let s = '';
  for (let i = 2; i + 1 < byte(b, 0); i += 2) s += String.fromCharCode(byte(b, i) | (byte(b, i + 1) << 8));
  return s;
};

/** A small DFU host for driving the state machine request by request (class requests to iface 0). */
export const dfu = (d: SimDevice) => ({
  dnload: (wValue: number, data: Uint8Array) =>
    d.handleControl(outSetup(0x21, DFU_REQUEST.DNLOAD, wValue, 0, data.length), data),
  upload: (wValue: number, length: number) =>
    d.handleControl(inSetup(0xa1, DFU_REQUEST.UPLOAD, wValue, 0, length)),
  getStatus: async () => {
    const r = await d.handleControl(inSetup(0xa1, DFU_REQUEST.GETSTATUS, 0, 0, 6));
    if (r.status !== 'ok' || !r.data) return undefined;
    const b = r.data;
    return {
      status: byte(b, 0),
      poll: byte(b, 1) | (byte(b, 2) << 8) | (byte(b, 3) << 16),
      state: byte(b, 4),
    };
  },
  getState: async () => {
    const r = await d.handleControl(inSetup(0xa1, DFU_REQUEST.GETSTATE, 0, 0, 1));
    return r.status === 'ok' ? r.data?.[0] : undefined;
  },
  clrStatus: () => d.handleControl(outSetup(0x21, DFU_REQUEST.CLRSTATUS, 0, 0, 0)),
  abort: () => d.handleControl(outSetup(0x21, DFU_REQUEST.ABORT, 0, 0, 0)),
  command: (cmd: number, address?: number) => {
    const data = new Uint8Array(address === undefined ? 1 : 5);
    data[0] = cmd;
    if (address !== undefined) new DataView(data.buffer).setUint32(1, address, true);
    return d.handleControl(outSetup(0x21, DFU_REQUEST.DNLOAD, 0, 0, data.length), data);
  },
});

/** Sends a DfuSe command and polls it to completion; returns the final status. */
export const runCommand = async (d: SimDevice, cmd: number, address?: number) => {
  const host = dfu(d);
  const r = await host.command(cmd, address);
  if (r.status !== 'ok') return { sent: r.status };
  await host.getStatus(); // dfuDNBUSY
  return host.getStatus();
};

export const setAddress = (d: SimDevice, address: number) =>
  runCommand(d, DFUSE_COMMAND.SET_ADDRESS_POINTER, address);
export const erase = (d: SimDevice, address: number) => runCommand(d, DFUSE_COMMAND.ERASE, address);

/** Writes one block (≤ transfer size) at `address` the way particle-usb does: set address, wValue 2. */
export const writeBlock = async (d: SimDevice, address: number, data: Uint8Array) => {
  await setAddress(d, address);
  const host = dfu(d);
  const r = await host.dnload(2, data);
  if (r.status !== 'ok') return { sent: r.status };
  await host.getStatus();
  return host.getStatus();
};

/** Resolves at the device's next connect event. */
export const nextConnect = (d: SimDevice) =>
  new Promise<{ mode: string; movedTo?: string }>((resolve) => {
    const off = d.on((e) => {
      if (e.type === 'connect') {
        off();
        resolve(e.movedTo ? { mode: e.mode, movedTo: e.movedTo } : { mode: e.mode });
      }
    });
  });

export const nextDisconnect = (d: SimDevice) =>
  new Promise<string>((resolve) => {
    const off = d.on((e) => {
      if (e.type === 'disconnect') {
        off();
        resolve(e.reason);
      }
    });
  });

export const pattern = (size: number, seed = 7): Uint8Array => {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xfe; // never 0xFF, so erased memory can't pass for data
  }
  return out;
};
