import { afterEach, describe, expect, it } from 'vitest';
import type { SimBus } from '../../core/sim';
import { openWithParticleUsb, type ParticleDevice } from './particle-usb-adapter';

/*
 * particle-usb 4.1.0's own getSerialNumber() and getIccid() (src/device.js, src/cellular-device.js)
 * against the simulator: the replies decode with Particle's client as they would from a device.
 */

interface IdentityDevice extends ParticleDevice {
  getSerialNumber(o?: { timeout?: number }): Promise<string>;
  getIccid?(o?: { timeout?: number }): Promise<string>;
  getCellularInfo?(o?: { timeout?: number }): Promise<{ iccid: string; imei: string }>;
}

let bus: SimBus | undefined;
afterEach(() => bus?.dispose());

const open = async (...args: Parameters<typeof openWithParticleUsb>) => {
  const r = await openWithParticleUsb(...args);
  bus = r.bus;
  return { ...r, dev: r.dev as IdentityDevice };
};

describe('particle-usb 4.1.0 reads the identity the simulator was made with', () => {
  it('getSerialNumber() on a P2', async () => {
    const { sim, dev } = await open({ platform: 'p2', seed: 'p2-serial' });
    expect(await dev.getSerialNumber()).toBe(sim.identity.serialNumber);
    await dev.close();
  });

  it('getIccid() and getCellularInfo() on a Boron', async () => {
    const { sim, dev } = await open({ platform: 'boron', seed: 'b-1' });
    expect(dev.getIccid).toBeTypeOf('function');
    expect(await dev.getIccid?.()).toBe(sim.identity.cellular?.iccid);
    expect(await dev.getCellularInfo?.()).toEqual({
      iccid: sim.identity.cellular?.iccid,
      imei: sim.identity.cellular?.imei,
    });
    await dev.close();
  });

  it('getIccid() on an Electron (Gen 2) is refused as not supported; so is a blank serial', async () => {
    const { dev } = await open({
      platform: 'electron',
      deviceOs: { version: '2.3.1', systemModuleVersion: 2301 },
      identity: { serialNumber: null },
    });
    await expect(dev.getIccid?.()).rejects.toThrow(/not supported/i);
    await expect(dev.getSerialNumber()).rejects.toThrow();
    await dev.close();
  });

  it('a Boron without a SIM fails getIccid()', async () => {
    const { dev } = await open({ platform: 'boron', faults: { iccidUnreadable: 'no-sim' } });
    await expect(dev.getIccid?.()).rejects.toThrow();
    await dev.close();
  });
});
