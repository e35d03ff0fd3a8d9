import { describe, expect, it } from 'vitest';
import { CTRL_REQUEST, DFU_STATE, makeDeviceId, SERVICE, SimDevice } from '../../core/sim';
import { transferMs } from '../../core/sim/timing';
import { call, decode, encode, REQ } from './control';
import { dfu, erase, fastDevice, getDescriptor, nextConnect, writeBlock } from './helpers';

describe('SimDevice', () => {
  it('derives stable 24-hex device IDs from a seed and refuses malformed ones', () => {
    expect(makeDeviceId(1)).toMatch(/^[0-9a-f]{24}$/);
    expect(makeDeviceId(1)).toBe(makeDeviceId(1));
    expect(makeDeviceId(1)).not.toBe(makeDeviceId(2));
    expect(new SimDevice({ platform: 'boron', deviceId: 'E00FCE68AAAAAAAAAAAAAAAA' }).deviceId).toBe(
      'e00fce68aaaaaaaaaaaaaaaa',
    );
    expect(() => new SimDevice({ platform: 'boron', deviceId: 'xyz' })).toThrow(/24 hex/);
    expect(() => new SimDevice({ platform: 'nope' })).toThrow(/Unknown platform/);
  });

  it('is off the bus until powered on, and answers nothing then', async () => {
    const d = new SimDevice({ platform: 'argon', timeScale: 0 });
    expect(d.connected).toBe(false);
    expect(
      await d.handleControl({ bmRequestType: 0x80, bRequest: 6, wValue: 0x0100, wIndex: 0, wLength: 18 }),
    ).toEqual({
      status: 'disconnected',
    });
    d.powerOn();
    expect((await getDescriptor(d, 1, 0)).length).toBe(18);
  });

  it('power loss brings the device back in normal mode (DFU mode is not sticky)', () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    d.powerOff();
    expect(d.connected).toBe(false);
    d.powerOn();
    expect(d.mode).toBe('normal');
    expect(d.descriptors.productId).toBe(0xc00d);
  });

  it('a cable pulled mid-download: the device boots its application when powered again (the DFU request was consumed)', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const host = dfu(d);
    const address = 0x000d4000;
    await erase(d, address);
    const first = Uint8Array.from({ length: 4096 }, (_, i) => i & 0x7f);
    expect(await writeBlock(d, address, first)).toMatchObject({ state: DFU_STATE.dfuDNLOAD_IDLE });
    // The next block is on the wire (dfuDNLOAD-SYNC) when the power goes.
    expect((await host.dnload(3, new Uint8Array(4096))).status).toBe('ok');
    d.powerOff('cable pulled mid-download');
    expect((await host.getStatus()) ?? 'no answer').toBe('no answer');
    const back = nextConnect(d);
    d.powerOn();
    expect(await back).toEqual({ mode: 'normal' });
    expect(d.mode).toBe('normal');
    expect(d.descriptors.productId).toBe(0xc00d);
    // Flash is memory: what was programmed before the pull is still there.
    expect(d.flash.get(0)?.read(address, 4096)).toEqual(first);
  });

  it('a power cut also cancels a pending re-enumeration into DFU mode', async () => {
    const d = new SimDevice({ platform: 'boron', seed: 'cut', timeScale: 0.001 });
    d.powerOn();
    const events: string[] = [];
    d.on((e) => events.push(e.type === 'connect' ? `connect ${e.mode}` : 'disconnect'));
    d.reset('dfu', 'test', 'dfu-mode');
    d.powerOff();
    await new Promise((r) => setTimeout(r, 50));
    d.powerOn();
    await new Promise((r) => setTimeout(r, 50));
    expect(d.mode).toBe('normal');
    expect(events.filter((e) => e.startsWith('connect'))).toEqual(['connect normal']);
  });

  it('accounts each transfer as frames per stage plus bytes on the wire', async () => {
    const d = fastDevice('boron');
    const before = d.stats.inherentMs;
    await getDescriptor(d, 1, 0, 18);
    expect(d.stats.inherentMs - before).toBeCloseTo(transferMs(d.timing, 18), 9);
    expect(transferMs(d.timing, 0)).toBe(2);
    expect(transferMs(d.timing, 4096)).toBeCloseTo(3 + 4.096, 9);
    expect(d.stats.controlTransfers).toBe(1);
    expect(d.stats.bytesIn).toBe(18);
  });

  it('each cause of re-enumeration can take its own time off the bus', async () => {
    const d = fastDevice('boron', {
      timing: { reenumerateMs: 1000, reenumerateAfter: { 'dfu-mode': 3000 } },
    });
    let before = d.stats.inherentMs;
    const a = nextConnect(d);
    d.reset('normal', 'test', 'reset');
    await a;
    // Off the bus 1000 ms, after the detach delay (the device's own time, so inherent too).
    expect(d.stats.inherentMs - before).toBe(d.timing.detachDelayMs + 1000);
    before = d.stats.inherentMs;
    const b = nextConnect(d);
    await d.handleControl({
      bmRequestType: 0x40,
      bRequest: 0x50,
      wValue: 0,
      wIndex: CTRL_REQUEST.DFU_MODE,
      wLength: 0,
    });
    await b;
    expect(d.stats.inherentMs - before).toBeGreaterThanOrEqual(3000);
    expect(d.stats.inherentMs - before).toBeLessThan(3100);
    expect(d.stats.reenumerations).toBe(2);
  });

  it('answers one control transfer at a time, in order (ep0 is a single pipe)', async () => {
    const d = fastDevice('boron');
    const order: number[] = [];
    const reqs = [1, 2, 3].map((n) =>
      d
        .handleControl({
          bmRequestType: 0xc0,
          bRequest: SERVICE.INIT,
          wValue: 0,
          wIndex: CTRL_REQUEST.GET_DEVICE_ID,
          wLength: 64,
        })
        .then((r) => {
          order.push(n);
          return r;
        }),
    );
    const replies = await Promise.all(reqs);
    expect(order).toEqual([1, 2, 3]);
    // Request IDs are handed out in the same order.
    const ids = replies.map((r) => (r.status === 'ok' && r.data ? r.data[6] : -1));
    expect(ids).toEqual([1, 2, 3]);
  });

  it('a reset in progress is not started twice', async () => {
    const d = fastDevice('argon');
    const back = nextConnect(d);
    d.reset('dfu', 'first', 'dfu-mode');
    d.reset('normal', 'second', 'reset');
    await back;
    expect(d.mode).toBe('dfu');
  });
});

describe('IN data stage length', () => {
  it('never returns more than wLength, whatever the function produced', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const r = await d.handleControl({ bmRequestType: 0xa1, bRequest: 3, wValue: 0, wIndex: 0, wLength: 2 });
    expect(r.status === 'ok' && r.data?.length).toBe(2);
  });
});

describe('one re-enumeration at a time', () => {
  it('a reset requested while the device is off the bus is ignored (no double attach)', async () => {
    const d = fastDevice('argon');
    const events: string[] = [];
    d.on((e) => events.push(e.type));
    const back = nextConnect(d);
    d.reset('dfu', 'first', 'dfu-mode');
    await new Promise<void>((r) => d.on((e) => e.type === 'disconnect' && r()));
    d.reset('normal', 'while off the bus', 'reset');
    await back;
    await new Promise((r) => setTimeout(r, 20));
    expect(events).toEqual(['disconnect', 'connect']);
    expect(d.mode).toBe('dfu');
  });
});

describe('setup done (SET_DEVICE_SETUP_DONE 73, IS_DEVICE_SETUP_DONE 74)', () => {
  const setDone = (d: SimDevice, done: boolean) =>
    call(d, REQ.SET_SETUP_DONE, encode('SetDeviceSetupDoneRequest', { done }));
  const isDone = async (d: SimDevice) => {
    const r = await call(d, REQ.IS_SETUP_DONE);
    return { result: r.result, done: Boolean(decode('IsDeviceSetupDoneReply', r.data).done) };
  };
  const reset = async (d: SimDevice) => {
    const back = nextConnect(d);
    await call(d, CTRL_REQUEST.RESET);
    return back;
  };
  const os3 = { deviceOs: { version: '3.3.1', systemModuleVersion: 3301 } };

  it('Gen 3 on Device OS 3.x keeps a flag that survives resets and power loss; without it the device boots listening', async () => {
    const d = fastDevice('boron', os3);
    expect(await isDone(d)).toEqual({ result: 0, done: true });
    expect((await setDone(d, false)).result).toBe(0);
    expect(await isDone(d)).toEqual({ result: 0, done: false });
    expect(await reset(d)).toEqual({ mode: 'listening' });
    d.powerOff();
    d.powerOn();
    expect(d.mode).toBe('listening');
    expect((await setDone(d, true)).result).toBe(0);
    expect(await reset(d)).toEqual({ mode: 'normal' });
    expect(d.setupDone).toBe(true);
  });

  it('a factory-fresh Gen 3 on 3.x without the flag powers up in listening mode', () => {
    expect(fastDevice('argon', { ...os3, setupDone: false }).mode).toBe('listening');
  });

  it('Device OS 4.0 and later: done is a no-op, not-done is -120, IS is always true (P2 included)', async () => {
    for (const d of [fastDevice('boron', { deviceOs: { version: '4.0.0' } }), fastDevice('p2')]) {
      expect((await setDone(d, true)).result).toBe(0);
      expect((await setDone(d, false)).result).toBe(-120);
      expect(await isDone(d)).toEqual({ result: 0, done: true });
      expect(await reset(d)).toEqual({ mode: 'normal' });
    }
  });

  it('Gen 2 before 4.0 has no flag: both requests are -120', async () => {
    const d = fastDevice('photon', { deviceOs: { version: '2.3.1', systemModuleVersion: 2301 } });
    expect((await setDone(d, true)).result).toBe(-120);
    expect((await call(d, REQ.IS_SETUP_DONE)).result).toBe(-120);
  });
});
