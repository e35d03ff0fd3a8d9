import { describe, expect, it } from 'vitest';
import { DFU_STATE, DFU_STATUS, DFUSE_COMMAND } from '../../core/sim';
import { dfu, erase, fastDevice, nextConnect, pattern, runCommand, setAddress, writeBlock } from './helpers';

const S = DFU_STATE;
const E = DFU_STATUS;
const USER_GEN3 = 0xb4000;

describe('DFU state machine (DFU 1.1 + DfuSe)', () => {
  it('starts in dfuIDLE with status OK', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    expect(await dfu(d).getStatus()).toEqual({ status: E.OK, poll: 0, state: S.dfuIDLE });
    expect(await dfu(d).getState()).toBe(S.dfuIDLE);
  });

  it('DNLOAD → dfuDNLOAD-SYNC → GETSTATUS dfuDNBUSY (with the erase time as bwPollTimeout) → dfuDNLOAD-IDLE', async () => {
    const d = fastDevice('boron', { mode: 'dfu', timeScale: 1 });
    const h = dfu(d);
    expect((await h.command(DFUSE_COMMAND.ERASE, USER_GEN3)).status).toBe('ok');
    expect(await h.getState()).toBe(S.dfuDNLOAD_SYNC);
    expect(await h.getStatus()).toEqual({ status: E.OK, poll: 85, state: S.dfuDNBUSY });
    expect(await h.getStatus()).toEqual({ status: E.OK, poll: 0, state: S.dfuDNLOAD_IDLE });
  });

  it('writes at pointer + (wValue − 2) × wTransferSize and reads back with UPLOAD', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const h = dfu(d);
    await erase(d, USER_GEN3);
    await erase(d, USER_GEN3 + 4096);
    const a = pattern(4096, 1);
    const b = pattern(100, 2);
    await setAddress(d, USER_GEN3);
    for (const [n, block] of [a, b].entries()) {
      expect((await h.dnload(2 + n, block)).status).toBe('ok');
      await h.getStatus();
      expect((await h.getStatus())?.state).toBe(S.dfuDNLOAD_IDLE);
    }
    expect(d.flash.get(0)?.read(USER_GEN3 + 4096, 100)).toEqual(b);
    await h.abort();
    await setAddress(d, USER_GEN3);
    await h.abort();
    const r0 = await h.upload(2, 4096);
    const r1 = await h.upload(3, 100);
    expect(r0.status === 'ok' && r0.data).toEqual(a);
    expect(r1.status === 'ok' && r1.data).toEqual(b);
    expect(await h.getState()).toBe(S.dfuUPLOAD_IDLE);
  });

  it('UPLOAD wValue 0 lists the DfuSe commands (Gen 2 adds read-unprotect, Device OS 6.1.1+ 0xFA/0xFB)', async () => {
    const list = async (platform: string, version?: string) => {
      const d = fastDevice(platform, { mode: 'dfu', ...(version ? { deviceOs: { version } } : {}) });
      const r = await dfu(d).upload(0, 64);
      return r.status === 'ok' ? [...(r.data ?? [])] : [];
    };
    expect(await list('argon', '5.9.0')).toEqual([0x00, 0x21, 0x41]);
    expect(await list('argon', '6.1.1')).toEqual([0x00, 0x21, 0x41, 0xfa]);
    expect(await list('argon')).toEqual([0x00, 0x21, 0x41, 0xfa, 0xfb]);
    expect(await list('photon', '2.3.1')).toEqual([0x00, 0x21, 0x41, 0x92]);
  });

  it('a short UPLOAD frame at the end of the memory returns the device to dfuIDLE', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    await setAddress(d, 0x100000 - 10);
    await dfu(d).abort();
    const r = await dfu(d).upload(2, 4096);
    expect(r.status === 'ok' && r.data?.length).toBe(10);
    expect(await dfu(d).getState()).toBe(S.dfuIDLE);
  });

  describe('out-of-sequence requests STALL and enter dfuERROR (errSTALLEDPKT)', () => {
    it('UPLOAD while in dfuDNLOAD-IDLE', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      await setAddress(d, USER_GEN3);
      expect(await dfu(d).upload(2, 64)).toEqual({ status: 'stall' });
      expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuERROR, status: E.errSTALLEDPKT });
    });

    it('DNLOAD while a block waits in dfuDNLOAD-SYNC', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      await dfu(d).command(DFUSE_COMMAND.SET_ADDRESS_POINTER, USER_GEN3);
      expect(await dfu(d).dnload(2, Uint8Array.of(1))).toEqual({ status: 'stall' });
      expect((await dfu(d).getStatus())?.state).toBe(S.dfuERROR);
    });

    it('CLRSTATUS outside dfuERROR, then CLRSTATUS leaves dfuERROR for dfuIDLE', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      expect(await dfu(d).clrStatus()).toEqual({ status: 'stall' });
      expect(await dfu(d).getState()).toBe(S.dfuERROR);
      expect(await dfu(d).clrStatus()).toEqual({ status: 'ok' });
      expect(await dfu(d).getStatus()).toEqual({ status: E.OK, poll: 0, state: S.dfuIDLE });
    });

    it('ABORT in dfuERROR', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      await dfu(d).clrStatus();
      expect(await dfu(d).abort()).toEqual({ status: 'stall' });
    });

    it('a DNLOAD larger than wTransferSize', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      expect(await dfu(d).dnload(2, new Uint8Array(4097))).toEqual({ status: 'stall' });
      expect(await dfu(d).getState()).toBe(S.dfuERROR);
    });
  });

  it('ABORT returns dfuDNLOAD-IDLE and dfuUPLOAD-IDLE to dfuIDLE', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    await setAddress(d, USER_GEN3);
    expect(await dfu(d).abort()).toEqual({ status: 'ok' });
    expect(await dfu(d).getState()).toBe(S.dfuIDLE);
  });

  describe('flash errors surface at the GETSTATUS after dfuDNBUSY', () => {
    it('erase outside the layout → errADDRESS', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      expect(await erase(d, 0x200000)).toMatchObject({ state: S.dfuERROR, status: E.errADDRESS });
    });
    it('erase of a read-only sector → errERASE', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      expect(await erase(d, 0)).toMatchObject({ state: S.dfuERROR, status: E.errERASE });
    });
    it('write to a read-only sector → errWRITE', async () => {
      const d = fastDevice('photon', { mode: 'dfu' });
      expect(await writeBlock(d, 0x08000000, Uint8Array.of(0))).toMatchObject({ status: E.errWRITE });
    });
    it('write over non-erased data → errVERIFY', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      await erase(d, USER_GEN3);
      expect(await writeBlock(d, USER_GEN3, Uint8Array.of(0x00))).toMatchObject({ status: E.OK });
      expect(await writeBlock(d, USER_GEN3, Uint8Array.of(0xff))).toMatchObject({
        state: S.dfuERROR,
        status: E.errVERIFY,
      });
    });
    it('set-address has wrong length → errUNKNOWN; unknown command → errSTALLEDPKT', async () => {
      const d = fastDevice('boron', { mode: 'dfu' });
      const h = dfu(d);
      await h.dnload(0, Uint8Array.of(0x21, 0, 0));
      await h.getStatus();
      expect(await h.getStatus()).toMatchObject({ state: S.dfuERROR, status: E.errUNKNOWN });
      await h.clrStatus();
      expect(await runCommand(d, 0x55)).toMatchObject({ state: S.dfuERROR, status: E.errSTALLEDPKT });
    });
  });

  it('mass erase: Gen 2 erases every erasable sector; Gen 3 refuses with errTARGET', async () => {
    const g2 = fastDevice('photon', { mode: 'dfu' });
    g2.flash.get(0)?.preload(0x080a0000, Uint8Array.of(0));
    expect(await runCommand(g2, DFUSE_COMMAND.ERASE)).toMatchObject({
      status: E.OK,
      state: S.dfuDNLOAD_IDLE,
    });
    expect(g2.flash.get(0)?.read(0x080a0000, 1)[0]).toBe(0xff);
    const g3 = fastDevice('boron', { mode: 'dfu' });
    expect(await runCommand(g3, DFUSE_COMMAND.ERASE)).toMatchObject({ status: E.errTARGET });
  });

  it('read-unprotect: Gen 2 mass-erases and re-enumerates in DFU mode; Gen 3 answers errUNKNOWN', async () => {
    const g2 = fastDevice('electron', { mode: 'dfu' });
    const back = nextConnect(g2);
    expect(await runCommand(g2, DFUSE_COMMAND.READ_UNPROTECT)).toMatchObject({ status: E.OK });
    expect(await back).toEqual({ mode: 'dfu' });
    expect(
      await runCommand(fastDevice('argon', { mode: 'dfu' }), DFUSE_COMMAND.READ_UNPROTECT),
    ).toMatchObject({
      status: E.errUNKNOWN,
    });
  });

  it('SET_INTERFACE selects the alt whose memory later requests address', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const r = await d.handleControl({
      bmRequestType: 0x01,
      bRequest: 0x0b,
      wValue: 2,
      wIndex: 0,
      wLength: 0,
    });
    expect(r.status).toBe('ok');
    expect(d.dfuState.alt).toBe(2);
    await erase(d, 0x80000000);
    expect(await writeBlock(d, 0x80000000, Uint8Array.of(0x42))).toMatchObject({ status: E.OK });
    expect(d.flash.get(2)?.read(0x80000000, 1)[0]).toBe(0x42);
    expect(d.flash.get(0)?.read(0, 1)[0]).toBe(0xff);
    expect(
      (await d.handleControl({ bmRequestType: 0x01, bRequest: 0x0b, wValue: 3, wIndex: 0, wLength: 0 }))
        .status,
    ).toBe('stall');
  });
});

describe('leave (zero-length DNLOAD)', () => {
  it('Gen 3: reports dfuMANIFEST, resets, and comes back in normal mode with the same ID', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const id = d.deviceId;
    const back = nextConnect(d);
    expect((await dfu(d).dnload(2, new Uint8Array(0))).status).toBe('ok');
    expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuMANIFEST, status: E.OK });
    expect(await back).toEqual({ mode: 'normal' });
    expect(d.deviceId).toBe(id);
    expect(d.descriptors.productId).toBe(0xc00d);
  });

  it('Gen 2: stays in dfuDNLOAD-IDLE and resets by itself', async () => {
    const d = fastDevice('photon', { mode: 'dfu' });
    const back = nextConnect(d);
    await setAddress(d, 0x080a0000);
    await dfu(d).dnload(2, new Uint8Array(0));
    expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuDNLOAD_IDLE, status: E.OK });
    expect(await back).toEqual({ mode: 'normal' });
    expect(d.descriptors.productId).toBe(0xc006);
  });

  it('GETSTATE during dfuMANIFEST-WAIT-RESET is out of sequence', async () => {
    const d = fastDevice('argon', { mode: 'dfu', timing: { detachDelayMs: 1e9 }, timeScale: 1 });
    await dfu(d).dnload(2, new Uint8Array(0));
    await dfu(d).getStatus();
    expect(await dfu(d).getState()).toBeUndefined();
    d.dispose();
  });

  it('RTL872x in DFU mode accepts a true zero-length leave (particle-usb sends one)', async () => {
    const d = fastDevice('p2', { mode: 'dfu' });
    const back = nextConnect(d);
    expect((await dfu(d).dnload(2, new Uint8Array(0))).status).toBe('ok');
    expect((await dfu(d).getStatus())?.state).toBe(S.dfuMANIFEST);
    await back;
  });
});

describe('busy policies', () => {
  const slow = { eraseMsBySectorSize: { 4096: 60_000 } };

  it('answer-busy: GETSTATUS during the erase answers dfuDNBUSY with the time left', async () => {
    const d = fastDevice('boron', {
      mode: 'dfu',
      timeScale: 1,
      timing: { ...slow, busyPolicy: 'answer-busy' },
    });
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER_GEN3);
    expect((await dfu(d).getStatus())?.state).toBe(S.dfuDNBUSY);
    const again = await dfu(d).getStatus();
    expect(again?.state).toBe(S.dfuDNBUSY);
    expect(again?.poll).toBeGreaterThan(0);
    expect(again?.poll).toBeLessThanOrEqual(60_000);
    // Anything but GETSTATUS is out of sequence while busy.
    expect(await dfu(d).abort()).toEqual({ status: 'stall' });
  });

  it('strict: any request before the poll timeout expires stalls into dfuERROR', async () => {
    const d = fastDevice('boron', { mode: 'dfu', timeScale: 1, timing: { ...slow, busyPolicy: 'strict' } });
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER_GEN3);
    await dfu(d).getStatus();
    expect(await dfu(d).getStatus()).toBeUndefined();
    expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuERROR, status: E.errSTALLEDPKT });
  });

  it('hold: a request during the erase is answered only when the erase is done', async () => {
    const d = fastDevice('boron', { mode: 'dfu', timeScale: 1, timing: { ...slow, busyPolicy: 'hold' } });
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER_GEN3);
    await dfu(d).getStatus();
    const controller = new AbortController();
    const pending = d.handleControl(
      { bmRequestType: 0xa1, bRequest: 3, wValue: 0, wIndex: 0, wLength: 6 },
      undefined,
      controller.signal,
    );
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    controller.abort();
    expect(await pending).toEqual({ status: 'nak' });
  });

  it('a fixed pollTimeout is reported as configured (bootloader v12+ reports 0, ST 50)', async () => {
    for (const pollTimeout of [0, 50]) {
      const d = fastDevice('boron', {
        mode: 'dfu',
        timeScale: 1,
        timing: { pollTimeout, eraseMsBySectorSize: { 4096: 1 } },
      });
      await dfu(d).command(DFUSE_COMMAND.ERASE, USER_GEN3);
      expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuDNBUSY, poll: pollTimeout });
    }
  });

  it('the reported bwPollTimeout is scaled with the device (0 when time is scaled to 0)', async () => {
    const d = fastDevice('boron', { mode: 'dfu', timeScale: 0 });
    await dfu(d).command(DFUSE_COMMAND.ERASE, USER_GEN3);
    expect(await dfu(d).getStatus()).toMatchObject({ state: S.dfuDNBUSY, poll: 0 });
  });
});
