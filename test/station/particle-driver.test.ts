import { afterEach, describe, expect, it } from 'vitest';
import { portPaths } from '../../core/sim/index';
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
