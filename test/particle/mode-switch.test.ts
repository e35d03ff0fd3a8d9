import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';

// @serialport/binding-mock's package exports hide its types; serialport re-exports the same binding.
const MockBinding = SerialPortMock.binding;

import { DfuSession } from '../../core/dfu';
import {
  confirmBackInNormalMode,
  enterDfuMode,
  type ModeSwitchContext,
} from '../../core/particle/mode-switch';
import { serialTouch } from '../../core/particle/serial-trick';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import { simLineCodingBinding, simSerialPath, simSerialPorts } from '../../core/sim/serial-bridge';
import { recognise } from '../../core/usb/identity';
import type { UsbDeviceInfo } from '../../core/usb/transport';

// End to end on the simulated bus: each starting mode goes to DFU (control request, or the
// 14400-baud serial trick through @serialport/binding-mock, which records the baud rate) and back
// to normal mode through the real DFU engine's leave, confirmed on the same port path and ID.

const PORT = '1-1.3';
const fastWait = { timeoutMs: 5000, pollMs: 20, requestTimeoutMs: 500 };

let bus: SimBus;
afterEach(() => {
  bus?.dispose();
  MockBinding.reset();
});

const setup = async (options: Partial<SimDeviceOptions>) => {
  bus = new SimBus();
  const device = new SimDevice({ platform: 'boron', seed: 7, timeScale: 0.01, ...options });
  bus.plug(device, PORT);
  const info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  MockBinding.createPort(simSerialPath(PORT), { record: true });
  const opened: number[] = [];
  const recordingMock = {
    open: async (o: { path: string; baudRate: number }) => {
      const port = await MockBinding.open(o);
      opened.push(port.openOptions.baudRate);
      return port;
    },
  };
  const ctx: ModeSwitchContext = {
    transport: bus,
    serialPorts: simSerialPorts(bus),
    serialTouch: serialTouch(simLineCodingBinding(bus, recordingMock)),
  };
  return { device, info, ctx, opened };
};

/** Leaves DFU with the DFU engine, as the station does after flashing. */
const leaveWithEngine = async (info: UsbDeviceInfo): Promise<void> => {
  const handle = await bus.open(info);
  const session = await DfuSession.open(handle);
  try {
    await session.leave();
  } finally {
    await session.close();
  }
};

const roundTrip = async (options: Partial<SimDeviceOptions>, expectedVia: string) => {
  const { device, info, ctx, opened } = await setup(options);
  const entered = await enterDfuMode(ctx, info, fastWait);
  if (!entered.ok) throw new Error(`${entered.error.code}: ${entered.error.message}`);
  expect(entered.value.via).toBe(expectedVia);
  expect(entered.value.device.portPath).toBe(PORT);
  expect(entered.value.device.serialNumber).toBe(device.deviceId);
  expect(recognise(entered.value.device)).toMatchObject({ kind: 'particle', dfu: true });
  expect(device.mode).toBe('dfu');

  await leaveWithEngine(entered.value.device);
  const back = await confirmBackInNormalMode(
    ctx,
    { portPath: PORT, deviceId: device.deviceId, dfuKey: entered.value.device.key },
    { ...fastWait, readModules: true },
  );
  if (!back.ok) throw new Error(`${back.error.code}: ${back.error.message}`);
  expect(back.value.device.portPath).toBe(PORT);
  expect(back.value.idConfirmed).toBe(true);
  expect(back.value.elapsedMs).toBeGreaterThanOrEqual(0);
  expect(recognise(back.value.device)).toMatchObject({ kind: 'particle', dfu: false });
  return { back: back.value, opened };
};

describe('enter DFU and come back, from each starting mode', () => {
  it('normal mode: DFU_MODE control request; MODULE_INFO read after return', async () => {
    const { back, opened } = await roundTrip({ mode: 'normal' }, 'control-request');
    expect(opened).toEqual([]);
    expect(back.modules?.map((m) => m.function)).toContain('system');
  });

  it('listening mode: the control request works there too', async () => {
    await roundTrip({ mode: 'listening' }, 'control-request');
  });

  it('old Device OS: no control requests, so the 14400-baud serial trick', async () => {
    const { back, opened } = await roundTrip(
      { mode: 'normal', deviceOs: { controlRequests: false } },
      'serial-14400',
    );
    expect(opened).toEqual([14400]);
    // Module versions cannot be read from such a device: reported, not a failure.
    expect(back.modules).toBeUndefined();
    expect(back.modulesError?.code).toBe('PARTICLE_NO_ANSWER');
  });

  it('already in DFU mode: nothing to do', async () => {
    await roundTrip({ mode: 'dfu' }, 'already');
  });

  it('works on an RTL872x platform (P2) whose zero-length OUT requests need a data byte', async () => {
    await roundTrip({ platform: 'p2', mode: 'normal' }, 'control-request');
  });
});

/**
 * The slot is ready for a retry: whatever is on the port now (or, if the port is empty, the next
 * device an operator plugs in) can be switched again with nothing left over from the failure.
 */
const slotReadyForRetry = async (ctx: ModeSwitchContext): Promise<void> => {
  let info = (await bus.list()).find((d) => d.portPath === PORT);
  if (!info) {
    bus.unplug(PORT);
    bus.plug(new SimDevice({ platform: 'boron', seed: 99, timeScale: 0.01 }), PORT);
    info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  }
  const again = await enterDfuMode(ctx, info, fastWait);
  if (!again.ok) throw new Error(`retry failed: ${again.error.code}`);
  expect(again.value.device.portPath).toBe(PORT);
};

describe('faults end in named errors, with the slot ready for a retry', () => {
  it('a device that never comes back: DEVICE_NEVER_CAME_BACK', async () => {
    const { info, ctx } = await setup({ faults: { neverComesBack: true } });
    const r = await enterDfuMode(ctx, info, { ...fastWait, timeoutMs: 300 });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_NEVER_CAME_BACK');
    expect(r.ok ? '' : r.error.remedy).toBeTruthy();
    await slotReadyForRetry(ctx);
  });

  it('another device ID on the same port: DEVICE_ID_MISMATCH', async () => {
    const { info, ctx } = await setup({ faults: { comesBackWithId: 'ffffffffffffffffffffffff' } });
    const r = await enterDfuMode(ctx, info, fastWait);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_ID_MISMATCH');
    expect(r.ok ? {} : r.error.details).toMatchObject({
      expected: info.serialNumber,
      found: 'ffffffffffffffffffffffff',
    });
    await slotReadyForRetry(ctx);
  });

  it('the same device on another port: DEVICE_CHANGED_PORT', async () => {
    const { info, ctx } = await setup({ faults: { comesBackOnPort: '1-1.9' } });
    const r = await enterDfuMode(ctx, info, fastWait);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_CHANGED_PORT');
    await slotReadyForRetry(ctx);
  });

  it('drops off mid-request and comes back in normal mode: DEVICE_WRONG_MODE at once, then a retry works', async () => {
    const { info, ctx, device } = await setup({ faults: { dropOffOnServiceRequest: 1 } });
    const r = await enterDfuMode(ctx, info, { ...fastWait, timeoutMs: 60_000 });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_WRONG_MODE');
    // The slot is ready for a retry: the device re-enumerated in normal mode; try again.
    const again = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
    expect(again).toBeDefined();
    const retry = await enterDfuMode(ctx, again, fastWait);
    expect(retry.ok).toBe(true);
    expect(device.mode).toBe('dfu');
  });

  it('an old Device OS without a visible serial port: DFU_ENTRY_FAILED with a remedy', async () => {
    const { info } = await setup({ deviceOs: { controlRequests: false } });
    const r = await enterDfuMode(
      {
        transport: bus,
        serialPorts: async () => [],
        serialTouch: async () => ({ ok: true, value: undefined }),
      },
      info,
      fastWait,
    );
    expect(r.ok ? '' : r.error.code).toBe('DFU_ENTRY_FAILED');
    expect(r.ok ? '' : r.error.remedy).toMatch(/DFU mode by hand/);
  });

  it('after leave, a device that never comes back: DEVICE_NEVER_CAME_BACK on confirm', async () => {
    const { info, ctx, device } = await setup({ mode: 'dfu', faults: { neverComesBack: true } });
    await leaveWithEngine(info);
    const r = await confirmBackInNormalMode(
      ctx,
      { portPath: PORT, deviceId: device.deviceId, dfuKey: info.key },
      { timeoutMs: 300, pollMs: 20 },
    );
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_NEVER_CAME_BACK');
    expect(r.ok ? {} : r.error.details).toMatchObject({ step: 'confirm', mode: 'normal' });
  });

  it('after leave, another ID on the slot: DEVICE_ID_MISMATCH on confirm', async () => {
    const { info, ctx, device } = await setup({
      mode: 'dfu',
      faults: { comesBackWithId: 'abababababababababababab' },
    });
    await leaveWithEngine(info);
    const r = await confirmBackInNormalMode(ctx, { portPath: PORT, deviceId: device.deviceId }, fastWait);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_ID_MISMATCH');
  });

  it('a briefly busy device is retried; a device that stays busy: PARTICLE_REQUEST_BUSY', async () => {
    const brief = await setup({ faults: { busyReplies: 1 } });
    expect((await enterDfuMode(brief.ctx, brief.info, fastWait)).ok).toBe(true);
    bus.dispose();
    const stuck = await setup({ faults: { busyReplies: 50 } });
    const r = await enterDfuMode(stuck.ctx, stuck.info, fastWait);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_BUSY');
    expect(r.ok ? {} : r.error.details).toMatchObject({ step: 'dfu-request' });
    expect(stuck.device.mode).toBe('normal');
  });

  it('honours an AbortSignal while waiting', async () => {
    const { info, ctx } = await setup({ faults: { neverComesBack: true } });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await enterDfuMode(ctx, info, { ...fastWait, signal: ac.signal });
    expect(r.ok ? '' : r.error.code).toBe('ABORTED');
  });
});
