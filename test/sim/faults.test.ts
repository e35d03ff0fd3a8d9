import { describe, expect, it } from 'vitest';
import {
  CTRL_REQUEST,
  DFU_STATE,
  DFU_STATUS,
  DFUSE_COMMAND,
  SERVICE,
  SERVICE_STATUS,
  type SimDevice,
} from '../../core/sim';
import { call, encode, makeModule, updateFirmware } from './control';
import {
  dataOf,
  dfu,
  erase,
  fastDevice,
  nextConnect,
  nextDisconnect,
  pattern,
  setAddress,
  writeBlock,
} from './helpers';

const USER = 0xb4000;
const busyFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault injection', () => {
  it('disconnectAfterBytes: drops off once that many bytes were downloaded, then comes back', async () => {
    const d = fastDevice('boron', { mode: 'dfu', faults: { disconnectAfterBytes: 6000 } });
    await erase(d, USER);
    await erase(d, USER + 4096);
    expect(await writeBlock(d, USER, pattern(4096))).toMatchObject({ status: DFU_STATUS.OK });
    const gone = nextDisconnect(d);
    const back = nextConnect(d);
    await setAddress(d, USER + 4096);
    await dfu(d).dnload(2, pattern(4096, 3));
    await dfu(d).getStatus();
    expect(await gone).toMatch(/fault/);
    expect(d.connected).toBe(false);
    expect(await dfu(d).getStatus()).toBeUndefined();
    expect(await back).toEqual({ mode: 'dfu' });
  });

  it('disconnectDuringErase: the k-th erase never finishes on the bus', async () => {
    const d = fastDevice('boron', { mode: 'dfu', faults: { disconnectDuringErase: 2 } });
    expect(await erase(d, USER)).toMatchObject({ status: DFU_STATUS.OK });
    const gone = nextDisconnect(d);
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER + 4096);
    await dfu(d).getStatus();
    await gone;
    expect(d.connected).toBe(false);
  });

  it('stallOnRequest: exactly the k-th request STALLs', async () => {
    const d = fastDevice('boron', { mode: 'dfu', faults: { stallOnRequest: 2 } });
    const h = dfu(d);
    expect(await h.getState()).toBe(DFU_STATE.dfuIDLE);
    expect(await h.getState()).toBeUndefined();
    expect(await h.getState()).toBe(DFU_STATE.dfuIDLE);
  });

  it('stuckBusyFrom: GETSTATUS reports dfuDNBUSY forever from that operation on', async () => {
    const d = fastDevice('boron', { mode: 'dfu', faults: { stuckBusyFrom: 2 } });
    expect(await erase(d, USER)).toMatchObject({ state: DFU_STATE.dfuDNLOAD_IDLE });
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER + 4096);
    for (let i = 0; i < 5; i++) expect((await dfu(d).getStatus())?.state).toBe(DFU_STATE.dfuDNBUSY);
    expect(await dfu(d).abort()).toEqual({ status: 'stall' });
  });

  it('flipBitAfterProgram: the write reports OK but readback differs in one bit', async () => {
    const d = fastDevice('boron', {
      mode: 'dfu',
      faults: { flipBitAfterProgram: { address: USER + 10, bit: 0 } },
    });
    const data = pattern(64);
    await erase(d, USER);
    expect(await writeBlock(d, USER, data)).toMatchObject({ status: DFU_STATUS.OK });
    await dfu(d).abort();
    await setAddress(d, USER);
    await dfu(d).abort();
    const back = dataOf(await dfu(d).upload(2, 64));
    expect(back[10]).toBe((data[10] ?? 0) ^ 1);
    expect([...back.subarray(11)]).toEqual([...data.subarray(11)]);
  });

  it('wrongStatus: the k-th GETSTATUS reports the given error and the device is in dfuERROR', async () => {
    const d = fastDevice('boron', {
      mode: 'dfu',
      faults: { wrongStatus: { onGetStatus: 2, status: 'errPROG' } },
    });
    expect((await dfu(d).getStatus())?.status).toBe(DFU_STATUS.OK);
    expect(await dfu(d).getStatus()).toMatchObject({ status: DFU_STATUS.errPROG, state: DFU_STATE.dfuERROR });
    expect(await dfu(d).getState()).toBe(DFU_STATE.dfuERROR);
  });

  it('slowFactor multiplies the modelled times (the reported poll timeout and the inherent time)', async () => {
    const fast = fastDevice('boron', { mode: 'dfu' });
    const slow = fastDevice('boron', { mode: 'dfu', faults: { slowFactor: 3 } });
    for (const d of [fast, slow]) await dfu(d).command(DFUSE_COMMAND.ERASE, USER);
    await dfu(fast).getStatus();
    await dfu(slow).getStatus();
    expect(slow.stats.inherentMs).toBeGreaterThan(fast.stats.inherentMs);
    expect(slow.stats.inherentMs).toBeCloseTo(fast.stats.inherentMs * 3, 6);
  });

  it('neverComesBack: after leave the device stays off the bus', async () => {
    const d = fastDevice('boron', { mode: 'dfu', faults: { neverComesBack: true } });
    const gone = nextDisconnect(d);
    await dfu(d).dnload(2, new Uint8Array(0));
    await dfu(d).getStatus();
    await gone;
    await busyFor(30);
    expect(d.connected).toBe(false);
    expect(d.stats.reenumerations).toBe(0);
  });

  it('comesBackWithId: the device enumerates after reset with another device ID (once)', async () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    const d = fastDevice('boron', { faults: { comesBackWithId: other } });
    const back = nextConnect(d);
    d.reset('dfu', 'test');
    await back;
    expect(d.descriptors.serialNumber).toBe(other);
    const again = nextConnect(d);
    d.reset('normal', 'test');
    await again;
    expect(d.deviceId).toBe(other);
  });

  it('dropOffOnServiceRequest: the k-th service request gets no answer and the device re-enumerates', async () => {
    const d = fastDevice('argon', { faults: { dropOffOnServiceRequest: 2 } });
    const init = await d.handleControl({
      bmRequestType: 0xc0,
      bRequest: SERVICE.INIT,
      wValue: 0,
      wIndex: CTRL_REQUEST.GET_DEVICE_ID,
      wLength: 64,
    });
    expect(init.status).toBe('ok');
    const back = nextConnect(d);
    const check = await d.handleControl({
      bmRequestType: 0xc0,
      bRequest: SERVICE.CHECK,
      wValue: 0,
      wIndex: 1,
      wLength: 64,
    });
    expect(check).toEqual({ status: 'disconnected' });
    expect(await back).toEqual({ mode: 'normal' });
  });

  it('busyReplies: the first N INITs answer BUSY, then requests are accepted', async () => {
    const d = fastDevice('argon', { faults: { busyReplies: 2 } });
    const status = async () => {
      const r = dataOf(
        await d.handleControl({
          bmRequestType: 0xc0,
          bRequest: SERVICE.INIT,
          wValue: 0,
          wIndex: 20,
          wLength: 64,
        }),
      );
      return r[4];
    };
    expect(await status()).toBe(SERVICE_STATUS.BUSY);
    expect(await status()).toBe(SERVICE_STATUS.BUSY);
    expect(await status()).toBe(SERVICE_STATUS.OK);
  });
});

describe('identity faults', () => {
  it('dfuSerialNumber: an old bootloader reports a short serial in DFU mode only', async () => {
    const d = fastDevice('photon', { mode: 'dfu', faults: { dfuSerialNumber: '00000000010C' } });
    expect(d.descriptors.serialNumber).toBe('00000000010C');
    const back = nextConnect(d);
    await dfu(d).dnload(2, new Uint8Array(0));
    await dfu(d).getStatus();
    await back;
    expect(d.descriptors.serialNumber).toBe(d.deviceId);
  });
});

describe('faults of the normal-mode update, setup done and protection', () => {
  const user = () =>
    makeModule({
      platformId: 13,
      func: 5,
      index: 2,
      version: 7,
      start: 0xb4000,
      size: 3000,
      deps: [{ func: 4, index: 1, version: 6201 }],
    });
  const ncp = () =>
    makeModule({ platformId: 12, func: 7, version: 5, start: 0, size: 4096, mcuTarget: 0x21 });
  const resetAndWait = async (d: SimDevice) => {
    const back = nextConnect(d);
    await call(d, CTRL_REQUEST.RESET);
    return back;
  };

  it.each([
    [-1380, 'start'],
    [-210, 'start'],
    [-290, 'data'],
    [-1340, 'finish'],
    [-1801, 'finish'],
  ] as const)('refuseUpdate %i arrives at %s, once by default', async (result, step) => {
    const d = fastDevice('boron', { faults: { refuseUpdate: { result } } });
    expect(await updateFirmware(d, user())).toEqual({ step, result });
    expect(d.updateInProgress).toBe(false);
    const back = nextConnect(d);
    expect(await updateFirmware(d, user())).toEqual({ step: 'finish', result: 0 });
    await back;
  });

  it('refuseUpdate with times refuses that many attempts', async () => {
    const d = fastDevice('boron', { faults: { refuseUpdate: { result: -1330, times: 2 } } });
    expect((await updateFirmware(d, user())).result).toBe(-1330);
    expect((await updateFirmware(d, user())).result).toBe(-1330);
    expect((await updateFirmware(d, user(), { validateOnly: true })).result).toBe(0);
  });

  it('resetDuringNcpUpdate: FINISH is accepted, the device resets mid-update and keeps its old NCP', async () => {
    const d = fastDevice('argon', { faults: { resetDuringNcpUpdate: true } });
    const gone = nextDisconnect(d);
    const back = nextConnect(d);
    expect((await updateFirmware(d, ncp())).result).toBe(0);
    expect(await gone).toMatch(/NCP/);
    await back;
    expect(d.modules.some((m) => m.func === 7)).toBe(false);
  });

  it('updateNotApplied: FINISH accepted and the device resets, but comes back with the old version', async () => {
    const d = fastDevice('boron', { faults: { updateNotApplied: true } });
    const back = nextConnect(d);
    expect((await updateFirmware(d, user())).result).toBe(0);
    await back;
    expect(d.modules.find((m) => m.func === 5)?.version).toBe(6);
  });

  it('setupDoneLost: the flag does not survive the reset, so the device boots listening', async () => {
    const d = fastDevice('boron', {
      deviceOs: { version: '3.3.1', systemModuleVersion: 3301 },
      faults: { setupDoneLost: true },
    });
    expect((await call(d, 73, encode('SetDeviceSetupDoneRequest', { done: true }))).result).toBe(0);
    expect(await resetAndWait(d)).toEqual({ mode: 'listening' });
    expect(d.setupDone).toBe(false);
  });

  it('protectAfterResets: open at first, protected from the k-th reset on', async () => {
    const d = fastDevice('boron', { faults: { protectAfterResets: 2 } });
    await resetAndWait(d);
    expect(d.protection).toBe('open');
    await resetAndWait(d);
    expect(d.protection).toBe('protected');
    expect((await call(d, CTRL_REQUEST.MODULE_INFO)).result).toBe(-1801);
  });
});
