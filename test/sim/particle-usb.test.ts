import { afterEach, describe, expect, it } from 'vitest';
import type { SimBus } from '../../core/sim';
import { pattern } from './helpers';
import { openWithParticleUsb as open } from './particle-usb-adapter';

/*
 * The acceptance proof: particle-usb 4.1.0's own classes (DeviceBase/Device and its Dfu) drive the
 * simulator through a thin adapter that gives them the shape of their node-usb UsbDevice. If the
 * simulator answered anything differently from real firmware in a way particle-usb depends on
 * (descriptor layout, reply formats, state sequence), these tests fail.
 */

let bus: SimBus | undefined;
afterEach(() => bus?.dispose());

const openWithParticleUsb = async (...args: Parameters<typeof open>) => {
  const r = await open(...args);
  bus = r.bus;
  return r;
};

describe('particle-usb 4.1.0 against the simulator', () => {
  it.each([
    ['boron', 0xb4000],
    ['photon', 0x080a0000],
    ['p2', 0x08500000],
  ])('%s in DFU mode: download with erase, upload, identical bytes, then leave', async (name, address) => {
    const { sim, dev, platform } = await openWithParticleUsb({ platform: name, mode: 'dfu', seed: name });
    expect(platform.dfu).toBe(true);
    expect(dev.id).toBe(sim.deviceId);
    await dev._dfu.setAltSetting(0);
    const image = Buffer.from(pattern(10_000, 5));
    await dev._dfu.doDownload({ startAddr: address, data: image });
    expect(Buffer.from(sim.flash.get(0)?.read(address, image.length) ?? [])).toEqual(image);
    // doUpload sends CLRSTATUS when not in dfuIDLE, which a Particle bootloader STALLs outside
    // dfuERROR (Device OS usbd_dfu); ABORT first, as a careful host does.
    await dev._dfu.abortToIdle();
    const back = await dev._dfu.doUpload({ startAddr: address, maxSize: image.length });
    expect(back).toEqual(image);
    const reenumerated = new Promise<void>((resolve) => sim.on((e) => e.type === 'connect' && resolve()));
    await dev.reset(); // DFU leave
    await reenumerated;
    expect(sim.mode).toBe('normal');
    expect(sim.deviceId).toBe(dev.id);
  });

  it('normal mode: open reads the system version, then device mode, module info and a raw request work', async () => {
    const { sim, dev } = await openWithParticleUsb({
      platform: 'argon',
      seed: 3,
      deviceOs: { version: '6.2.1' },
    });
    expect(dev.firmwareVersion).toBe('6.2.1');
    expect(dev.id).toBe(sim.deviceId);
    expect(await dev.getDeviceMode()).toBe('NORMAL');
    const modules = await dev.getFirmwareModuleInfo();
    expect(modules.map((m) => [m.type, m.version])).toEqual([
      ['BOOTLOADER', 3000],
      ['SYSTEM_PART', 6201],
      ['USER_PART', 6],
    ]);
    const r = await dev.sendControlRequest(20, null);
    expect(r.result).toBe(0);
    await dev.close();
  });

  it('doUpload straight after doDownload fails: CLRSTATUS outside dfuERROR stalls, as on Device OS', async () => {
    const { dev } = await openWithParticleUsb({ platform: 'argon', mode: 'dfu' });
    await dev._dfu.setAltSetting(0);
    await dev._dfu.doDownload({ startAddr: 0xb4000, data: Buffer.from(pattern(100)) });
    await expect(dev._dfu.doUpload({ startAddr: 0xb4000, maxSize: 100 })).rejects.toThrow(/stall/i);
  });

  it('listening mode is reported as LISTENING', async () => {
    const { dev } = await openWithParticleUsb({ platform: 'boron', mode: 'listening' });
    expect(await dev.getDeviceMode()).toBe('LISTENING');
    await dev.close();
  });

  it('DFU_MODE (50) completes, then the device re-enumerates with the DFU PID', async () => {
    const { sim, dev } = await openWithParticleUsb({ platform: 'msom', seed: 9 });
    const back = new Promise<void>((resolve) => sim.on((e) => e.type === 'connect' && resolve()));
    const r = await dev.sendControlRequest(50, null);
    expect(r.result).toBe(0);
    await back;
    expect(sim.descriptors.productId).toBe(0xd023);
  });
});
