import { afterEach, describe, expect, it } from 'vitest';
import { toLsError } from '../../core/errors/result';
import { type Platform, platformByName } from '../../core/platforms';
import { portPaths, SimBus, SimDevice } from '../../core/sim/index';
import { simListeningOpener, simSerialPorts } from '../../core/sim/serial-bridge';
import { particleDriver } from '../../core/station/particle-driver';
import type { UsbDeviceInfo } from '../../core/usb/transport';
import { simRig, userPartFile } from './sim-rig';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const rig = async (over: Parameters<typeof simRig>[0] = {}) => {
  const r = await simRig(over);
  cleanups.push(async () => {
    await r.station.stop();
    r.bus.dispose();
    r.log.close();
  });
  return r;
};

describe('particleDriver on the simulated bus', () => {
  it('flashes, verifies, confirms the same device and queues its registration: PASS', async () => {
    const r = await rig();
    const dev = r.device(1);
    r.bus.plug(dev, portPaths(1)[0] as string);
    const e = await r.next((x) => x.type === 'attempt-finished');
    const a = e.type === 'attempt-finished' ? e.attempt : undefined;
    expect(a?.errorMessage ?? null).toBeNull();
    expect(a?.result).toBe('pass');
    expect(a?.deviceId).toBe(dev.deviceId);
    expect(a?.registrationState).toBe('queued');
    // The image is really in the device's flash.
    const img = r.plan[0];
    if (!img) throw new Error('no plan');
    const flash = dev.flash.get(img.alt);
    expect(flash && Buffer.from(flash.read(img.address, img.data.length)).equals(Buffer.from(img.data))).toBe(
      true,
    );
  });

  it('refuses a device of the wrong platform without touching its flash', async () => {
    const r = await rig();
    r.bus.plug(r.device(2, {}, 'argon'), portPaths(1)[0] as string);
    const e = await r.next((x) => x.type === 'attempt-finished');
    expect(e.type === 'attempt-finished' && e.attempt.errorCode).toBe('WRONG_PLATFORM');
  });

  it('never passes a device whose readback differs', async () => {
    const r = await rig({ retryOn: [] });
    const img = (await simRig()).plan[0];
    r.bus.plug(
      r.device(3, { flipBitAfterProgram: { address: (img?.address ?? 0) + 100, bit: 2 } }),
      portPaths(1)[0] as string,
    );
    const e = await r.next((x) => x.type === 'attempt-finished');
    expect(e.type === 'attempt-finished' && e.attempt.result).toBe('fail');
    expect(e.type === 'attempt-finished' && e.attempt.step).toBe('flash');
  });

  it('never passes a device that rejects the module it was given, though readback matched', async () => {
    // One body byte changed after planning: the bytes land exactly as sent (readback verify
    // passes) but the device's own CRC check at boot fails, so MODULE_INFO reports it invalid.
    const file = userPartFile();
    const tampered = {
      ...file,
      images: file.images.map((img) => {
        const data = Uint8Array.from(img.data);
        data[200] = (data[200] ?? 0) ^ 0xff;
        return { ...img, data };
      }),
    };
    const r = await rig({ files: [tampered], retryOn: [] });
    r.bus.plug(r.device(4), portPaths(1)[0] as string);
    const e = await r.next((x) => x.type === 'attempt-finished');
    const a = e.type === 'attempt-finished' ? e.attempt : undefined;
    expect(a?.result).toBe('fail');
    expect(a?.step).toBe('confirm');
    expect(a?.errorCode).toBe('MODULE_INVALID');
  });
});

describe('identity at identify (serial number, ICCID, IMEI, Device OS)', () => {
  const finished = async (r: Awaited<ReturnType<typeof rig>>) => {
    const e = await r.next((x) => x.type === 'attempt-finished');
    if (e.type !== 'attempt-finished') throw new Error('no attempt');
    return e.attempt;
  };

  it('records what a Boron reports, in the identity’s own commit, and passes it to the registrar', async () => {
    const seen: unknown[] = [];
    const r = await rig({
      driver: {
        registrar: {
          register: async (deviceId, _signal, identity) => {
            seen.push({ deviceId, ...identity });
            return { state: 'queued', skipped: [] };
          },
        },
      },
    });
    const dev = r.device(11);
    r.bus.plug(dev, portPaths(1)[0] as string);
    const a = await finished(r);
    expect(a.result).toBe('pass');
    expect(a).toMatchObject({
      serialNumber: dev.identity.serialNumber,
      iccid: dev.identity.cellular?.iccid,
      imei: dev.identity.cellular?.imei,
      deviceOs: '6.2.1',
    });
    // Already on the 'identified' event, before anything is written to the device.
    const identified = r.events.find((x) => x.type === 'identified');
    expect(identified?.type === 'identified' && identified.attempt.serialNumber).toBe(
      dev.identity.serialNumber,
    );
    expect(r.station.views()[0]).toMatchObject({
      serialNumber: dev.identity.serialNumber,
      iccid: dev.identity.cellular?.iccid,
    });
    expect(seen).toEqual([
      {
        deviceId: dev.deviceId,
        serialNumber: dev.identity.serialNumber,
        iccid: dev.identity.cellular?.iccid,
        imei: dev.identity.cellular?.imei,
      },
    ]);
    expect(r.log.events(r.batch.id).some((x) => x.type === 'identity-incomplete')).toBe(false);
  });

  it('fails DEVICE_SERIAL_UNREADABLE at identify when the profile requires the serial, writing nothing', async () => {
    const r = await rig({ driver: { identity: { requireSerial: true } } });
    const dev = r.device(12, { serialUnreadable: true });
    r.bus.plug(dev, portPaths(1)[0] as string);
    const a = await finished(r);
    expect(a).toMatchObject({ result: 'fail', step: 'identify', errorCode: 'DEVICE_SERIAL_UNREADABLE' });
    expect(a.errorMessage).toMatch(/serial number/);
    expect(a.stepMs.flash).toBeUndefined();
  });

  it('leaves an unreadable ICCID empty when not required: PASS, with the reason logged', async () => {
    const r = await rig();
    const dev = r.device(13, { iccidUnreadable: 'no-sim' });
    r.bus.plug(dev, portPaths(1)[0] as string);
    const a = await finished(r);
    expect(a).toMatchObject({
      result: 'pass',
      serialNumber: dev.identity.serialNumber,
      iccid: null,
      imei: null,
    });
    const gap = r.log.events(r.batch.id).find((x) => x.type === 'identity-incomplete');
    expect(gap?.attemptId).toBe(a.id);
    expect(gap?.data).toMatchObject({
      missing: [
        { field: 'iccid', cause: 'no-sim', reason: expect.stringMatching(/no SIM/) },
        { field: 'imei', cause: 'no-sim' },
      ],
    });
  });

  it('fails DEVICE_ICCID_UNREADABLE when the profile requires the ICCID and the modem has no SIM', async () => {
    const r = await rig({ driver: { identity: { requireIccid: true } } });
    r.bus.plug(r.device(14, { iccidUnreadable: 'no-sim' }), portPaths(1)[0] as string);
    const a = await finished(r);
    expect(a).toMatchObject({ result: 'fail', step: 'identify', errorCode: 'DEVICE_ICCID_UNREADABLE' });
  });

  it('reads a device found in DFU mode once the install has it back in normal mode', async () => {
    const r = await rig({ driver: { identity: { requireSerial: true } } });
    const dev = r.device(15, {}, 'boron', { mode: 'dfu' });
    r.bus.plug(dev, portPaths(1)[0] as string);
    const a = await finished(r);
    expect(a.errorMessage ?? null).toBeNull();
    expect(a).toMatchObject({
      result: 'pass',
      serialNumber: dev.identity.serialNumber,
      iccid: dev.identity.cellular?.iccid,
    });
    // identify ran twice: at the start (DFU mode, nothing to read) and after confirm.
    const steps = r.events.flatMap((x) => (x.type === 'step' ? [x.step] : []));
    expect(steps.indexOf('identify', 1)).toBeGreaterThan(steps.indexOf('confirm'));
    expect(steps.at(-1)).toBe('register');
    const identified = r.events.filter((x) => x.type === 'identified');
    expect(identified).toHaveLength(2);
  });
});

describe('the listening-mode fallback of identify (the Electron’s ICCID)', () => {
  const identifyElectron = async (withPorts: boolean) => {
    const bus = new SimBus();
    cleanups.push(async () => bus.dispose());
    const dev = new SimDevice({
      platform: 'electron',
      seed: 'electron-1',
      timeScale: 0,
      deviceOs: { version: '2.3.1' },
    });
    bus.plug(dev, '1-4');
    const info = (await bus.list()).find((d) => d.portPath === '1-4') as UsbDeviceInfo;
    const electron = platformByName('electron') as Platform;
    const driver = particleDriver({
      transport: bus,
      files: [],
      product: { platformId: electron.id, productId: 4242, mode: 'ota-on-setup' },
      verify: true,
      skipWhenCurrent: false,
      setupDone: true,
      identity: { requireIccid: true },
      registrar: { register: async () => ({ state: 'queued', skipped: [] }) },
      ...(withPorts ? { serialPorts: simSerialPorts(bus), openSerial: simListeningOpener(bus) } : {}),
    })(info);
    const ctx = { signal: new AbortController().signal, onProgress: () => undefined, device: info };
    try {
      return { dev, id: await driver.identify(ctx) };
    } catch (e) {
      return { dev, error: toLsError(e) };
    }
  };

  it('asks the `i` listing over the serial port, and leaves the device as it found it', async () => {
    const { dev, id } = await identifyElectron(true);
    expect(id).toMatchObject({
      serialNumber: dev.identity.serialNumber,
      iccid: dev.identity.cellular?.iccid,
      imei: dev.identity.cellular?.imei,
      deviceOs: '2.3.1',
    });
    expect(dev.mode).toBe('normal');
  });

  it('without a serial port lister: DEVICE_ICCID_UNREADABLE (not supported) when required', async () => {
    const { error } = await identifyElectron(false);
    expect(error?.code).toBe('DEVICE_ICCID_UNREADABLE');
    expect(error?.details?.cause).toBe('not-supported');
  });
});
