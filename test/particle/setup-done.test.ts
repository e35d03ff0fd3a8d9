import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { isSetupDone, setSetupDone } from '../../core/particle/setup-done';
import { type FakeUpdateBehaviour, FakeUpdateDevice } from './fake-update-device';

const require = createRequire(import.meta.url);
const pb = require('@particle/device-os-protobuf') as {
  decode(name: string, bytes: Uint8Array): Record<string, unknown>;
};
const fast = { checkIntervals: [1] };

let dev: FakeUpdateDevice | undefined;
afterEach(() => dev?.dispose());

const open = async (b: FakeUpdateBehaviour = {}) => {
  dev = new FakeUpdateDevice(b);
  return { dev, handle: await dev.open(dev.info) };
};

describe('SET_DEVICE_SETUP_DONE (73)', () => {
  it('sends done = true by default, as the message Particle defines', async () => {
    const { dev, handle } = await open();
    expect(await setSetupDone(handle, true, fast)).toEqual({ ok: true, value: undefined });
    const sent = dev.of(73)[0]?.payload ?? new Uint8Array();
    expect(pb.decode('SetDeviceSetupDoneRequest', sent).done).toBe(true);
    expect(dev.events).toContain('setup-done true');
  });

  it('sends done = false as the empty message, and names Device OS 4+ refusing it', async () => {
    const { dev, handle } = await open({ setupDone: { setResult: -120 } });
    const r = await setSetupDone(handle, false, fast);
    expect(dev.of(73)[0]?.payload.length).toBe(0);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_NOT_SUPPORTED');
  });

  it('names a protected device', async () => {
    const { handle } = await open({ setupDone: { setResult: -1801 } });
    const r = await setSetupDone(handle, true, fast);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_PROTECTED');
  });
});

describe('IS_DEVICE_SETUP_DONE (74)', () => {
  it('reads the flag, false being the empty reply', async () => {
    const yes = await open({ setupDone: { done: true } });
    expect(await isSetupDone(yes.handle, fast)).toEqual({ ok: true, value: true });
    dev?.dispose();
    const no = await open({ setupDone: { done: false } });
    expect(await isSetupDone(no.handle, fast)).toEqual({ ok: true, value: false });
  });
});
