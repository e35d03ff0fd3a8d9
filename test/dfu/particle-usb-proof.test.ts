import { describe, expect, it } from 'vitest';
import { DfuSession } from '../../core/dfu';
import { SimBus, SimDevice } from '../../core/sim';
import { dfuRequests, flashBytes, pattern, recordingHandle, waitForMode } from './helpers';
import { openWithParticleUsb } from './particle-usb-adapter';

/*
 * The proof against a client nobody here wrote: particle-usb 4.1.0's own DFU code (dfu.js,
 * dfu-device.js, device-base.js) flashes a simulated device, and the simulated flash must then hold
 * exactly the image. If particle-usb and the simulator disagreed about the protocol, this fails.
 */

const plugDfu = async (platform: string) => {
  const bus = new SimBus();
  // bwPollTimeout 0 (as Particle bootloader v12+ reports) keeps the test fast: the device still
  // holds each request until its modelled erase/program is done.
  const device = new SimDevice({
    platform,
    mode: 'dfu',
    seed: `proof-${platform}`,
    timeScale: 0,
    timing: { pollTimeout: 0 },
  });
  bus.plug(device, '1-1.1');
  const [info] = await bus.list();
  if (!info) throw new Error('no device');
  return { bus, device, info };
};

describe('particle-usb 4.1.0 flashes the simulator', () => {
  it('Photon (Gen 2 layout): system part at 0x08020000 and user part at 0x080A0000, then leave', async () => {
    const { bus, device, info } = await plugDfu('photon');
    const dev = await openWithParticleUsb(await bus.open(info));
    expect(dev.isInDfuMode).toBe(true);
    expect(dev.id).toBe(device.deviceId);
    const system = pattern(150 * 1024 + 77, 7);
    const user = pattern(20 * 1024 + 3, 8);
    await dev.writeOverDfu(Buffer.from(system), { altSetting: 0, startAddr: 0x08020000 });
    const back = waitForMode(device, 'normal');
    await dev.writeOverDfu(Buffer.from(user), { altSetting: 0, startAddr: 0x080a0000, leave: true });
    expect(flashBytes(device, 0, 0x08020000, system.length)).toEqual(system);
    expect(flashBytes(device, 0, 0x080a0000, user.length)).toEqual(user);
    // particle-usb erased whole 128 KB sectors; the bytes after the image are erased, not stale.
    expect(flashBytes(device, 0, 0x08020000 + system.length, 16).every((b) => b === 0xff)).toBe(true);
    await back;
    expect(device.mode).toBe('normal');
  });

  it('Boron (Gen 3 layout): user part at 0xB4000, then leave', async () => {
    const { bus, device, info } = await plugDfu('boron');
    const dev = await openWithParticleUsb(await bus.open(info));
    const user = pattern(100 * 1024 + 1, 9);
    const back = waitForMode(device, 'normal');
    await dev.writeOverDfu(Buffer.from(user), { altSetting: 0, startAddr: 0xb4000, leave: true });
    expect(flashBytes(device, 0, 0xb4000, user.length)).toEqual(user);
    await back;
    expect(device.mode).toBe('normal');
  });

  it('particle-usb refuses the read-only MBR page before sending anything, as our engine does', async () => {
    const { bus, info, device } = await plugDfu('boron');
    const { handle, log } = recordingHandle(await bus.open(info));
    const dev = await openWithParticleUsb(handle);
    const before = dfuRequests(log).length;
    // particle-usb passes its message as the `result` argument of DeviceProtectionError, so the
    // error arrives with an empty message; its name is what identifies it.
    await expect(dev.writeOverDfu(Buffer.alloc(16), { altSetting: 0, startAddr: 0 })).rejects.toMatchObject({
      name: 'DeviceProtectionError',
    });
    expect(dfuRequests(log).length).toBe(before);
    expect(device.dfuState.state).toBe(2);
  });

  it('particle-usb readOverDfu right after a download sends CLRSTATUS outside dfuERROR, which Device OS stalls', async () => {
    // Device OS's DfuClassDriver::handleDfuClrStatus answers CLRSTATUS in any state but dfuERROR
    // by stalling and entering dfuERROR (DFU 1.1 §A.2), and the simulator does the same.
    // particle-usb's doUpload does not catch that, so its first read fails; the second succeeds
    // because the device is now in dfuERROR, where CLRSTATUS is legal.
    const { bus, info } = await plugDfu('boron');
    const dev = await openWithParticleUsb(await bus.open(info));
    const user = pattern(8 * 1024, 4);
    await dev.writeOverDfu(Buffer.from(user), { altSetting: 0, startAddr: 0xb4000 });
    await expect(
      dev.readOverDfu({ altSetting: 0, startAddr: 0xb4000, size: user.length }),
    ).rejects.toMatchObject({
      name: 'UsbStallError',
    });
    const read = await dev.readOverDfu({ altSetting: 0, startAddr: 0xb4000, size: user.length });
    expect(new Uint8Array(read)).toEqual(user);
  });

  it('what particle-usb writes, our engine reads back identically (and the other way round)', async () => {
    const { bus, device, info } = await plugDfu('boron');
    const handle = await bus.open(info);
    const dev = await openWithParticleUsb(handle);
    const a = pattern(12 * 1024, 5);
    await dev.writeOverDfu(Buffer.from(a), { altSetting: 0, startAddr: 0xb4000 });
    await dev.close();
    // Our engine starts from dfuDNLOAD-IDLE (where particle-usb left the device) without help.
    const session = await DfuSession.open(await bus.open(info));
    expect(await session.verify(0xb4000, a)).toEqual({ ok: true });
    const b = pattern(8 * 1024, 6);
    await session.erase(0xc0000, b.length);
    await session.download(0xc0000, b);
    // Leave the device in dfuIDLE so particle-usb's read does not trip over its CLRSTATUS quirk.
    await session.ensureIdle();
    await session.close();
    const again = await openWithParticleUsb(await bus.open(info));
    expect(
      new Uint8Array(await again.readOverDfu({ altSetting: 0, startAddr: 0xc0000, size: b.length })),
    ).toEqual(b);
    expect(device.dfuState.state).toBe(2);
  });
});
