import { afterEach, describe, expect, it } from 'vitest';
import { buildModule } from '../../../core/firmware';
import { SERVICE, SERVICE_STATUS } from '../../../core/sim/control-service';
import { SimDevice } from '../../../core/sim/device';
import { type FfsEvent, FfsEventType } from '../../../core/sim/functionfs/blobs';
import type { GadgetIdentity } from '../../../core/sim/functionfs/configfs';
import type { Ep0Outcome } from '../../../core/sim/functionfs/ep0';
import { type Ep0Port, FfsDeviceServer, type GadgetPort } from '../../../core/sim/functionfs/server';
import type { SetupPacket, SimDeviceOptions } from '../../../core/sim/types';
import { decode, encode, parseReply } from '../../sim/control';

// Tests for core/sim/functionfs/server.ts: a real SimDevice behind a fake ep0 and gadget, so the
// request plumbing and the mode-switch choreography run without a kernel.

class FakeEp0 implements Ep0Port {
  private queue: FfsEvent[] = [];
  private wake: (() => void) | undefined;
  readonly replies: { kind: 'data' | 'ack' | 'stall'; data?: Uint8Array }[] = [];
  outData: Uint8Array[] = [];
  closed = false;

  push(...events: FfsEvent[]): void {
    this.queue.push(...events);
    this.wake?.();
  }
  setup(setup: SetupPacket, data?: Uint8Array): void {
    if (data) this.outData.push(data);
    this.push({ type: FfsEventType.SETUP, setup });
  }
  async events(): Promise<FfsEvent[]> {
    while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
    const e = this.queue;
    this.queue = [];
    return e;
  }
  async readData(length: number): Promise<{ outcome: Ep0Outcome; data: Uint8Array }> {
    return { outcome: 'done', data: (this.outData.shift() ?? new Uint8Array(0)).subarray(0, length) };
  }
  async writeData(data: Uint8Array): Promise<Ep0Outcome> {
    this.replies.push({ kind: 'data', data });
    return 'done';
  }
  async ack(): Promise<Ep0Outcome> {
    this.replies.push({ kind: 'ack' });
    return 'done';
  }
  async stall(): Promise<Ep0Outcome> {
    this.replies.push({ kind: 'stall' });
    return 'stalled';
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

class FakeGadget implements GadgetPort {
  readonly ffsMount = '/dev/ffs-test';
  identity: GadgetIdentity | undefined;
  serial = false;
  bound = false;
  log: string[] = [];
  ep0s: FakeEp0[] = [];
  async setIdentity(identity: GadgetIdentity): Promise<void> {
    this.identity = identity;
    this.log.push(`identity ${identity.productId.toString(16)}`);
  }
  async setFunctions(withSerial: boolean): Promise<void> {
    this.serial = withSerial;
  }
  fixed: { strings: Record<number, string>; reserve: number; bound: boolean }[] = [];
  async setFixedStrings(strings: ReadonlyMap<number, string>, reserve: number): Promise<boolean> {
    this.fixed.push({ strings: Object.fromEntries(strings), reserve, bound: this.bound });
    return true;
  }
  async serialTty(): Promise<string> {
    return '/dev/ttyGS0';
  }
  async bind(): Promise<void> {
    this.bound = true;
    this.log.push('bind');
  }
  async unbind(): Promise<void> {
    this.bound = false;
    this.log.push('unbind');
    // The kernel tells the function through ep0.
    this.ep0s.at(-1)?.push({ type: FfsEventType.DISABLE }, { type: FfsEventType.UNBIND });
  }
}

const waitUntil = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never happened: ${what}`);
};

const GETSTATUS: SetupPacket = { bmRequestType: 0xa1, bRequest: 3, wValue: 0, wIndex: 0, wLength: 6 };
const dnload = (wValue: number, length: number): SetupPacket => ({
  bmRequestType: 0x21,
  bRequest: 1,
  wValue,
  wIndex: 0,
  wLength: length,
});

let device: SimDevice | undefined;
afterEach(() => device?.dispose());

const startServer = async (mode: 'dfu' | 'normal', options: Partial<SimDeviceOptions> = {}) => {
  device = new SimDevice({ platform: 'photon', seed: 'server-test', mode, timeScale: 0, ...options });
  const gadget = new FakeGadget();
  const attached: number[] = [];
  const detached: string[] = [];
  const ttys: string[] = [];
  const server = new FfsDeviceServer(
    device,
    gadget,
    {
      attached: (_m, pid) => attached.push(pid),
      detached: (reason) => detached.push(reason),
      serialTty: (t) => ttys.push(t),
    },
    async () => {
      const ep0 = new FakeEp0();
      gadget.ep0s.push(ep0);
      return ep0;
    },
  );
  await server.start();
  device.powerOn();
  await waitUntil(() => gadget.bound, 'first bind');
  return { device, gadget, server, attached, detached, ttys };
};

/** One IN transfer on `ep0`: waits for the server's answer to it. */
const transferIn = async (ep0: FakeEp0, setup: SetupPacket): Promise<Uint8Array> => {
  const n = ep0.replies.length;
  ep0.setup(setup);
  await waitUntil(() => ep0.replies.length > n, `an answer to request ${setup.bRequest}`);
  const reply = ep0.replies[n];
  if (reply?.kind !== 'data' || !reply.data) throw new Error(`request ${setup.bRequest}: ${reply?.kind}`);
  return reply.data;
};

const serviceIn = (bRequest: number, wIndex: number, wValue = 0, wLength = 64): SetupPacket => ({
  bmRequestType: 0xc0,
  bRequest,
  wValue,
  wIndex,
  wLength,
});

/**
 * One Particle control request through the server, as a host sends it: INIT, SEND (the only OUT,
 * acknowledged as FunctionFS reads it), CHECK until it is no longer PENDING, RECV.
 */
const controlRequest = async (ep0: FakeEp0, type: number, payload: Uint8Array) => {
  const init = parseReply(await transferIn(ep0, serviceIn(SERVICE.INIT, type, payload.length)));
  const id = init.id ?? -1;
  if (payload.length > 0)
    ep0.setup(
      { bmRequestType: 0x40, bRequest: SERVICE.SEND, wValue: 0, wIndex: id, wLength: payload.length },
      payload,
    );
  let pending = 0;
  for (;;) {
    const check = parseReply(await transferIn(ep0, serviceIn(SERVICE.CHECK, id)));
    if (check.status === SERVICE_STATUS.PENDING) {
      pending++;
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    const data = check.size ? await transferIn(ep0, serviceIn(SERVICE.RECV, id, 0, check.size)) : undefined;
    return { status: check.status, result: check.result, data, pending };
  }
};

describe('FfsDeviceServer', () => {
  it('enumerates a DFU-mode device with its DFU identity and answers DFU requests from the model', async () => {
    const { gadget, attached } = await startServer('dfu');
    expect(gadget.identity?.productId).toBe(0xd006);
    expect(gadget.serial).toBe(false);
    expect(attached).toEqual([0xd006]);
    const ep0 = gadget.ep0s[0] as FakeEp0;
    ep0.push({ type: FfsEventType.BIND }, { type: FfsEventType.ENABLE });
    ep0.setup(GETSTATUS);
    await waitUntil(() => ep0.replies.length === 1, 'GETSTATUS reply');
    const status = ep0.replies[0]?.data;
    expect(status && [...status]).toEqual([0, 0, 0, 0, 2, 0]); // OK, dfuIDLE
  });

  it('infers the alternate setting from a DfuSe SET_ADDRESS, since the kernel hides SET_INTERFACE', async () => {
    const { gadget, device: d } = await startServer('dfu');
    const ep0 = gadget.ep0s[0] as FakeEp0;
    // 0x00000000 is only inside alt 1 (DCT) on a Photon; alt 0 starts at 0x08000000.
    ep0.setup(dnload(0, 5), Uint8Array.of(0x21, 0, 0, 0, 0));
    await waitUntil(() => ep0.replies.length === 0 && d.dfuState.alt === 1, 'alt 1 selected');
    expect(d.dfuState.addressPointer).toBe(0);
  });

  it('stalls what the model stalls', async () => {
    const { gadget } = await startServer('dfu');
    const ep0 = gadget.ep0s[0] as FakeEp0;
    // A vendor request means nothing to a DFU-mode bootloader.
    ep0.setup({ bmRequestType: 0xc0, bRequest: 1, wValue: 0, wIndex: 50, wLength: 64 });
    await waitUntil(() => ep0.replies.length === 1, 'reply');
    expect(ep0.replies[0]?.kind).toBe('stall');
  });

  it('leave: unbinds, closes ep0, and binds again on the same gadget as a normal-mode device with a serial port', async () => {
    const { gadget, attached, ttys } = await startServer('dfu');
    const first = gadget.ep0s[0] as FakeEp0;
    first.setup(dnload(0, 0)); // zero-length DNLOAD: leave
    first.setup(GETSTATUS);
    await waitUntil(() => gadget.ep0s.length === 2 && gadget.bound, 're-enumeration');
    expect(first.closed).toBe(true);
    expect(gadget.log).toEqual(['identity d006', 'bind', 'unbind', 'identity c006', 'bind']);
    expect(attached).toEqual([0xd006, 0xc006]);
    expect(gadget.serial).toBe(true);
    expect(ttys).toEqual(['/dev/ttyGS0']);
  });

  it('a normal-mode update (250/253/251): START answers PENDING while it erases, 1024-byte chunks, FINISH; then the reset re-enumerates on the same gadget and the bootloader is applied at that boot', async () => {
    const {
      gadget,
      attached,
      detached,
      device: d,
    } = await startServer('normal', {
      platform: 'boron',
      timeScale: 1,
      // A slow OTA erase keeps START pending for a while; the rest is quick.
      timing: { otaEraseMsPerSector: 400, controlRequestMs: 0, detachDelayMs: 1, reenumerateMs: 5 },
    });
    expect(gadget.identity?.productId).toBe(0xc00d);
    const bootloader = buildModule({
      platformId: 13,
      function: 'bootloader',
      version: 3100,
      bodySize: 3000,
      initialStackPointer: 0x2003fc00,
    });
    const ep0 = gadget.ep0s[0] as FakeEp0;
    ep0.push({ type: FfsEventType.BIND }, { type: FfsEventType.ENABLE });

    const start = await controlRequest(
      ep0,
      250,
      encode('StartFirmwareUpdateRequest', { size: bootloader.length }),
    );
    expect([start.status, start.result]).toEqual([SERVICE_STATUS.OK, 0]);
    expect(start.pending).toBeGreaterThan(0);
    const chunk = Number(decode('StartFirmwareUpdateReply', start.data ?? new Uint8Array(0)).chunkSize);
    expect(chunk).toBe(1024);
    for (let o = 0; o < bootloader.length; o += chunk) {
      const data = encode('FirmwareUpdateDataRequest', { data: bootloader.subarray(o, o + chunk) });
      expect((await controlRequest(ep0, 253, data)).result).toBe(0);
    }
    expect(d.modules.find((m) => m.func === 2)?.version).toBe(3000);
    // FINISH's result reaches the host before the device resets.
    const finish = await controlRequest(ep0, 251, encode('FinishFirmwareUpdateRequest', {}));
    expect([finish.status, finish.result]).toEqual([SERVICE_STATUS.OK, 0]);
    await waitUntil(() => gadget.ep0s.length === 2 && gadget.bound, 're-enumeration after the update');
    expect(ep0.closed).toBe(true);
    expect(detached).toEqual(['firmware update']);
    expect(gadget.log).toEqual(['identity c00d', 'bind', 'unbind', 'identity c00d', 'bind']);
    expect(attached).toEqual([0xc00d, 0xc00d]);
    // The bootloader copied the update into place before Device OS enumerated again.
    expect(d.modules.find((m) => m.func === 2)?.version).toBe(3100);
    // And the device answers on the new ep0.
    const next = gadget.ep0s[1] as FakeEp0;
    expect((await controlRequest(next, 90, new Uint8Array(0))).result).toBe(0);
  });

  it('puts string 0xFA (Device OS 6.1.2+ in DFU mode) at its number before binding, none in normal mode; 0xFB changes its text in place', async () => {
    const { gadget, device: d } = await startServer('dfu', { platform: 'boron', protection: 'service' });
    // Three alt setting strings in FunctionFS plus the configuration string come after it.
    expect(gadget.fixed).toEqual([{ strings: { 250: 'sm=s' }, reserve: 4, bound: false }]);
    const ep0 = gadget.ep0s[0] as FakeEp0;
    ep0.setup(dnload(0, 1), Uint8Array.of(0xfb)); // DfuSe CLEAR_SECURITY_MODE_OVERRIDE
    ep0.setup(GETSTATUS);
    ep0.setup(GETSTATUS);
    await waitUntil(() => gadget.fixed.length === 2, 'the new 0xFA text');
    expect(d.protection).toBe('protected');
    expect(gadget.fixed[1]).toEqual({ strings: { 250: 'sm=p' }, reserve: 4, bound: true });
    ep0.setup(dnload(0, 0)); // leave
    ep0.setup(GETSTATUS);
    await waitUntil(() => gadget.ep0s.length === 2 && gadget.bound, 're-enumeration');
    // Normal mode: the control interface's string and the acm function's three, no fixed strings.
    expect(gadget.fixed[2]).toEqual({ strings: {}, reserve: 5, bound: false });
  });

  it('follows a pulled cable and a plugged one', async () => {
    const { gadget, device: d } = await startServer('normal');
    d.powerOff('unplugged');
    await waitUntil(() => !gadget.bound && (gadget.ep0s[0]?.closed ?? false), 'detach');
    d.powerOn();
    await waitUntil(() => gadget.bound && gadget.ep0s.length === 2, 'attach');
  });
});
