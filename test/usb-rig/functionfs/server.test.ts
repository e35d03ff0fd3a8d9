import { afterEach, describe, expect, it } from 'vitest';
import { SimDevice } from '../../../core/sim/device';
import { type FfsEvent, FfsEventType } from '../../../core/sim/functionfs/blobs';
import type { GadgetIdentity } from '../../../core/sim/functionfs/configfs';
import type { Ep0Outcome } from '../../../core/sim/functionfs/ep0';
import { type Ep0Port, FfsDeviceServer, type GadgetPort } from '../../../core/sim/functionfs/server';
import type { SetupPacket } from '../../../core/sim/types';

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

const startServer = async (mode: 'dfu' | 'normal') => {
  device = new SimDevice({ platform: 'photon', seed: 'server-test', mode, timeScale: 0 });
  const gadget = new FakeGadget();
  const attached: number[] = [];
  const ttys: string[] = [];
  const server = new FfsDeviceServer(
    device,
    gadget,
    { attached: (_m, pid) => attached.push(pid), serialTty: (t) => ttys.push(t) },
    async () => {
      const ep0 = new FakeEp0();
      gadget.ep0s.push(ep0);
      return ep0;
    },
  );
  await server.start();
  device.powerOn();
  await waitUntil(() => gadget.bound, 'first bind');
  return { device, gadget, server, attached, ttys };
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

  it('follows a pulled cable and a plugged one', async () => {
    const { gadget, device: d } = await startServer('normal');
    d.powerOff('unplugged');
    await waitUntil(() => !gadget.bound && (gadget.ep0s[0]?.closed ?? false), 'detach');
    d.powerOn();
    await waitUntil(() => gadget.bound && gadget.ep0s.length === 2, 'attach');
  });
});
