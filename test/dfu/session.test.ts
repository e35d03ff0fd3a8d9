import { describe, expect, it } from 'vitest';
import { DfuSession, writeImages } from '../../core/dfu';
import { LsFailure } from '../../core/errors/result';
import { SimBus, SimDevice } from '../../core/sim';
import { usbFailure } from '../../core/usb/errors';
import type { UsbDeviceHandle } from '../../core/usb/transport';
import { dfuRequests, openSim, pattern } from './helpers';

const failureOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof LsFailure) return e.error;
    throw e;
  }
  throw new Error('expected a failure');
};

describe('DfuSession.open', () => {
  it('reads the functional descriptor and every alt layout of a Boron', async () => {
    const { session } = await openSim('boron');
    expect(session.isDfuse).toBe(true);
    expect(session.functional.transferSize).toBe(4096);
    expect(session.functional.bcdDFU).toBe(0x011a);
    expect(session.functional.attributes.canDownload).toBe(true);
    expect(session.functional.attributes.canUpload).toBe(true);
    expect(session.alts.map((a) => [a.alt, a.layout?.name])).toEqual([
      [0, 'Internal Flash'],
      [1, 'DCD Flash'],
      [2, 'External Flash'],
    ]);
    expect(session.alts[0]?.layout?.segments[0]).toMatchObject({ start: 0, readable: true, writable: false });
    await session.close();
  });

  it('selects an alt by number or by name, and names a missing one', async () => {
    const { session, device } = await openSim('boron');
    expect((await session.selectAlt('external flash')).alt).toBe(2);
    expect(device.dfuState.alt).toBe(2);
    expect((await session.selectAlt(0)).alt).toBe(0);
    expect(() => session.findAlt(7)).toThrow(/no DFU alt setting 7/);
  });

  it('refuses a device in normal mode with DFU_NO_INTERFACE', async () => {
    const bus = new SimBus();
    bus.plug(new SimDevice({ platform: 'boron', mode: 'normal', timeScale: 0 }), '1-1.1');
    const [info] = await bus.list();
    if (!info) throw new Error('no device');
    const error = await failureOf(DfuSession.open(await bus.open(info)));
    expect(error.code).toBe('DFU_NO_INTERFACE');
    expect(error.remedy).toMatch(/DFU mode/);
  });
});

describe('read-only and out-of-range memory', () => {
  it('refuses to write the Boron MBR page before sending any DFU request', async () => {
    const { session, log } = await openSim('boron');
    const before = dfuRequests(log).length;
    const r = await writeImages(session, [
      { label: 'user', alt: 0, address: 0xb4000, data: pattern(4096) },
      { label: 'mbr', alt: 0, address: 0x0, data: pattern(4096) },
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('DFU_READ_ONLY');
    expect(r.error.message).toContain('0x00000000');
    expect(r.error.report.images.every((i) => !i.written)).toBe(true);
    expect(dfuRequests(log).length).toBe(before);
  });

  it('refuses an image that runs past the end of the memory', async () => {
    const { session } = await openSim('photon');
    const r = await writeImages(session, [
      { label: 'big', alt: 0, address: 0x080f0000, data: pattern(0x20000) },
    ]);
    expect(r.ok ? '' : r.error.code).toBe('DFU_OUT_OF_RANGE');
  });
});

describe('a STALL as the cable is pulled', () => {
  /**
   * The sim's bus, with a handle that does what the kernel did in the USB rig: the DNLOAD in flight
   * when the cable goes is STALLed, and the device leaves the bus right after (or, with `stay`, a
   * plain STALL from a device that stays attached).
   */
  const stallingSession = async (stallAtBlock: number, stay: boolean) => {
    const bus = new SimBus();
    const device = new SimDevice({ platform: 'boron', mode: 'dfu', seed: 'stall', timeScale: 0 });
    bus.plug(device, '1-1.1');
    const [info] = await bus.list();
    if (!info) throw new Error('the simulated device did not enumerate');
    const inner = await bus.open(info);
    let dnloads = 0;
    const handle: UsbDeviceHandle = {
      info: inner.info,
      controlIn: (s, length, o) => inner.controlIn(s, length, o),
      controlOut: async (s, data, o) => {
        if (
          s.requestType === 'class' &&
          s.request === 1 &&
          data &&
          data.length > 0 &&
          dnloads++ === stallAtBlock
        ) {
          if (!stay) device.powerOff('cable pulled');
          throw usbFailure('USB_STALL', `request ${s.request}`, { request: s.request });
        }
        return inner.controlOut(s, data, o);
      },
      claimInterface: (n) => inner.claimInterface(n),
      releaseInterface: (n) => inner.releaseInterface(n),
      selectAlternate: (n, a) => inner.selectAlternate(n, a),
      close: () => inner.close(),
    };
    return { session: await DfuSession.open(handle), device };
  };

  it('is reported as USB_DISCONNECTED when the device is gone after it', async () => {
    const { session } = await stallingSession(3, false);
    const error = await failureOf(session.download(0x000d4000, pattern(64 * 1024)));
    expect(error.code).toBe('USB_DISCONNECTED');
    expect(error.message).toMatch(/stalled, then the device left the bus/);
    expect(error.details).toMatchObject({ operation: 'download', request: 1 });
  });

  it('stays USB_STALL when the device is still there (and is put back in dfuIDLE)', async () => {
    const { session } = await stallingSession(3, true);
    const error = await failureOf(session.download(0x000d4000, pattern(64 * 1024)));
    expect(error.code).toBe('USB_STALL');
    // The recovery left the device usable: the same session writes the image on the next try.
    await session.download(0x000d4000, pattern(8 * 1024));
  });
});
