import { describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import { waitForDevice } from '../../core/particle/wait-device';
import type { UsbDeviceInfo, UsbEvent, UsbTransport } from '../../core/usb/transport';

const ID = '0123456789abcdef01234567';
const dev = (key: string, over: Partial<UsbDeviceInfo> = {}): UsbDeviceInfo => ({
  key,
  portPath: '1-1.1',
  vendorId: 0x2b04,
  productId: 0xd006,
  serialNumber: ID,
  ...over,
});

/** A transport whose list() walks through scripted snapshots (the last one repeats). */
const scripted = (snapshots: (UsbDeviceInfo[] | Error)[]) => {
  let i = 0;
  const listeners = new Set<(e: UsbEvent) => void>();
  const transport: UsbTransport = {
    list: async () => {
      const s = snapshots[Math.min(i++, snapshots.length - 1)] ?? [];
      if (s instanceof Error) throw s;
      return s;
    },
    watch: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    open: async () => {
      throw new Error('not used');
    },
  };
  return { transport, listeners };
};

const opts = { timeoutMs: 2000, pollMs: 5 };

describe('waitForDevice', () => {
  it('finds the device once it shows the expected mode on the port', async () => {
    const { transport } = scripted([[dev('old', { productId: 0xc006 })], [], [dev('new')]]);
    const r = await waitForDevice(
      transport,
      { portPath: '1-1.1', deviceId: ID, mode: 'dfu', excludeKeys: ['old'] },
      opts,
    );
    expect(r.ok && r.value.device.key).toBe('new');
    expect(r.ok && r.value.idConfirmed).toBe(true);
  });

  it('accepts an old bootloader’s short serial on the right port, but says the ID is unconfirmed', async () => {
    const { transport } = scripted([[dev('new', { serialNumber: '00ff' })]]);
    const r = await waitForDevice(transport, { portPath: '1-1.1', deviceId: ID, mode: 'dfu' }, opts);
    expect(r.ok && r.value.idConfirmed).toBe(false);
  });

  it('does not mistake the device still present in its old mode for a wrong-mode return', async () => {
    // Without excludeKeys the caller does not know the old enumeration: no wrong-mode verdict.
    const { transport } = scripted([[dev('same', { productId: 0xc006 })], [dev('again')]]);
    const r = await waitForDevice(transport, { portPath: '1-1.1', deviceId: ID, mode: 'dfu' }, opts);
    expect(r.ok && r.value.device.key).toBe('again');
  });

  it('ignores other ports and foreign devices, and times out with the port and ID in the message', async () => {
    const { transport } = scripted([
      [
        dev('x', { portPath: '1-1.2', serialNumber: 'ffffffffffffffffffffffff' }),
        dev('kbd', { vendorId: 0x046d, productId: 0xc31c }),
      ],
    ]);
    const r = await waitForDevice(
      transport,
      { portPath: '1-1.1', deviceId: ID, mode: 'dfu' },
      { timeoutMs: 50, pollMs: 5 },
    );
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_NEVER_CAME_BACK');
    expect(r.ok ? '' : r.error.message).toContain(ID);
    expect(r.ok ? '' : r.error.message).toContain('1-1.1');
  });

  it('reports a bus that disappears while waiting', async () => {
    const gone = new LsFailure({ code: 'USB_UNAVAILABLE', message: 'No USB bus available on this machine.' });
    const { transport } = scripted([[], gone]);
    const r = await waitForDevice(transport, { portPath: '1-1.1', deviceId: ID, mode: 'dfu' }, opts);
    expect(r.ok ? '' : r.error.code).toBe('USB_UNAVAILABLE');
  });

  it('rides out a listing that fails once while the device re-enumerates', async () => {
    const glitch = new Error('open error: device not found (errno 2)');
    const { transport } = scripted([[], glitch, glitch, [dev('new')]]);
    const r = await waitForDevice(transport, { portPath: '1-1.1', deviceId: ID, mode: 'dfu' }, opts);
    expect(r.ok && r.value.device.key).toBe('new');
  });

  it('wakes on an attach event instead of waiting for the next poll', async () => {
    const { transport, listeners } = scripted([[], [dev('new')]]);
    const p = waitForDevice(
      transport,
      { portPath: '1-1.1', deviceId: ID, mode: 'dfu' },
      { timeoutMs: 60_000, pollMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 20));
    for (const l of listeners) l({ type: 'attach', device: dev('new') });
    const r = await p;
    expect(r.ok).toBe(true);
    // Without the wake-up this would sit in a 60 s poll and hit the test timeout.
    expect(listeners.size).toBe(0);
  });
});
