import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DFU_STATE, DFU_STATUS, DFUSE_COMMAND, type SimDevice } from '../../core/sim';
import {
  deriveP256KeyPair,
  PROTECTION_ERROR,
  publicKeyFingerprint,
  SERVICE_MODE_MS,
  SERVICE_MODE_RESETS,
  signServerConfirm,
  simCloudKeys,
  simDeviceKeys,
  verifyDevicePrepare,
} from '../../core/sim/protection';
import { call, decode, encode, makeModule, REQ, updateFirmware } from './control';
import { dfu, erase, fastDevice, nextConnect, readString, runCommand } from './helpers';

const protectedState = async (d: SimDevice) => {
  const r = await call(d, REQ.GET_PROTECTED_STATE);
  const m = decode('GetProtectedStateReply', r.data) as { state?: boolean; overridden?: boolean };
  // proto3 defaults live on the prototype: read them explicitly.
  return { result: r.result, state: Boolean(m.state), overridden: Boolean(m.overridden) };
};

const setProtected = (d: SimDevice, req: Record<string, unknown>) =>
  call(d, REQ.SET_PROTECTED_STATE, encode('SetProtectedStateRequest', req));

interface Prepared {
  deviceNonce: Uint8Array;
  deviceSignature: Uint8Array;
  devicePublicKeyFingerprint: Uint8Array;
}

const prepare = async (d: SimDevice, serverNonce: Uint8Array = randomBytes(32)) => {
  const r = await setProtected(d, { action: 1, prepare: { serverNonce } });
  const reply = decode('SetProtectedStateReply', r.data) as { prepare?: Prepared };
  return { result: r.result, serverNonce, prepare: reply.prepare };
};

/** The cloud's part of PREPARE/CONFIRM, with the simulator's cloud key unless told otherwise. */
const enterServiceMode = async (d: SimDevice) => {
  const p = await prepare(d);
  if (!p.prepare) throw new Error('device is not protected');
  const serverSignature = signServerConfirm({
    deviceId: d.deviceId,
    serverNonce: p.serverNonce,
    deviceNonce: p.prepare.deviceNonce,
    devicePublicKeyFingerprint: p.prepare.devicePublicKeyFingerprint,
  });
  return setProtected(d, {
    action: 2,
    confirm: { serverSignature, serverPublicKeyFingerprint: publicKeyFingerprint(simCloudKeys().publicKey) },
  });
};

const resetAndWait = async (d: SimDevice) => {
  const back = nextConnect(d);
  await call(d, 40);
  return back;
};

describe('GetProtectedStateRequest (76)', () => {
  it('open device: state false; Device OS before 6.0 does not know the request (-120)', async () => {
    expect(await protectedState(fastDevice('boron'))).toMatchObject({ result: 0, state: false });
    const old = fastDevice('boron', { deviceOs: { version: '5.9.0', systemModuleVersion: 5900 } });
    expect((await call(old, REQ.GET_PROTECTED_STATE)).result).toBe(-120);
  });

  it('a protected device answers only 76, 77, 20 and 10; everything else is -1801', async () => {
    const d = fastDevice('boron', { protection: 'protected' });
    expect(await protectedState(d)).toMatchObject({ result: 0, state: true });
    expect((await call(d, 20)).result).toBe(0);
    expect((await call(d, 10)).result).toBe(-120); // passes the filter; no application handler
    for (const type of [REQ.MODULE_INFO, REQ.START, REQ.IS_SETUP_DONE, 72, 40, 50])
      expect((await call(d, type)).result).toBe(PROTECTION_ERROR.PROTECTED);
    expect(d.connected).toBe(true);
  });

  it('MODULE_INFO marks a protected bootloader (FirmwareModule.security.mode = PROTECTED)', async () => {
    const d = fastDevice('boron', { protection: 'service' });
    const r = await call(d, REQ.MODULE_INFO);
    const modules = (
      decode('GetModuleInfoReply', r.data) as { modules: { type: number; security?: { mode?: number } }[] }
    ).modules;
    expect(modules.find((m) => m.type === 2)?.security?.mode).toBe(1);
  });
});

describe('Service Mode: SetProtectedStateRequest (77)', () => {
  it('PREPARE is signed with the device key over "device" ‖ ID ‖ nonces, as Device OS does', async () => {
    const d = fastDevice('boron', { protection: 'protected', seed: 4 });
    const p = await prepare(d);
    expect(p.result).toBe(0);
    const prep = p.prepare as Prepared;
    expect(prep.deviceNonce).toHaveLength(32);
    const keys = simDeviceKeys(d.deviceId);
    expect(Buffer.from(prep.devicePublicKeyFingerprint)).toEqual(
      Buffer.from(publicKeyFingerprint(keys.publicKey)),
    );
    expect(
      verifyDevicePrepare(
        {
          deviceId: d.deviceId,
          deviceNonce: prep.deviceNonce,
          serverNonce: p.serverNonce,
          deviceSignature: prep.deviceSignature,
        },
        keys.publicKey,
      ),
    ).toBe(true);
  });

  it('CONFIRM with the cloud signature enters Service Mode: 76 says overridden, requests work again', async () => {
    const d = fastDevice('boron', { protection: 'protected' });
    expect((await enterServiceMode(d)).result).toBe(0);
    expect(await protectedState(d)).toMatchObject({ state: false, overridden: true });
    expect(d.protection).toBe('service');
    expect((await call(d, REQ.MODULE_INFO)).result).toBe(0);
  });

  it('PREPARE on an open device answers an empty message (particle-usb: protected false)', async () => {
    const p = await prepare(fastDevice('boron'));
    expect(p.result).toBe(0);
    expect(p.prepare ?? undefined).toBeUndefined();
  });

  it('refusals: wrong nonce size -270, no PREPARE -210, unknown key -1802, bad signature -1803, late -160', async () => {
    const d = fastDevice('boron', { protection: 'protected' });
    expect((await prepare(d, randomBytes(16))).result).toBe(PROTECTION_ERROR.INVALID_ARGUMENT);
    const fp = publicKeyFingerprint(simCloudKeys().publicKey);
    const confirm = (serverSignature: Uint8Array, serverPublicKeyFingerprint = fp) =>
      setProtected(d, { action: 2, confirm: { serverSignature, serverPublicKeyFingerprint } });
    expect((await confirm(Uint8Array.of(1))).result).toBe(PROTECTION_ERROR.INVALID_STATE);

    await prepare(d);
    const other = publicKeyFingerprint(deriveP256KeyPair('not the cloud').publicKey);
    expect((await confirm(Uint8Array.of(1), other)).result).toBe(PROTECTION_ERROR.KEY_MISMATCH);
    expect((await confirm(new Uint8Array(0))).result).toBe(PROTECTION_ERROR.INVALID_ARGUMENT);
    expect((await confirm(Uint8Array.of(0x30, 0x02, 0x01, 0x01))).result).toBe(
      PROTECTION_ERROR.INVALID_SIGNATURE,
    );

    const p = await prepare(d);
    d.advanceClock(60_000);
    const late = signServerConfirm({
      deviceId: d.deviceId,
      serverNonce: p.serverNonce,
      deviceNonce: p.prepare?.deviceNonce ?? new Uint8Array(),
      devicePublicKeyFingerprint: p.prepare?.devicePublicKeyFingerprint ?? new Uint8Array(),
    });
    expect((await confirm(late)).result).toBe(PROTECTION_ERROR.TIMEOUT);
    expect(d.protection).toBe('protected');
  });

  it('a device trusting another cloud key refuses the simulator cloud (-1802)', async () => {
    const d = fastDevice('boron', {
      protection: 'protected',
      serverPublicKey: deriveP256KeyPair('product cloud').publicKey,
    });
    expect((await enterServiceMode(d)).result).toBe(PROTECTION_ERROR.KEY_MISMATCH);
  });

  it('RESET leaves Service Mode without the cloud', async () => {
    const d = fastDevice('boron', { protection: 'service' });
    expect((await setProtected(d, { action: 0 })).result).toBe(0);
    expect(d.protection).toBe('protected');
  });

  it(`Service Mode ends after ${SERVICE_MODE_RESETS} resets`, async () => {
    const d = fastDevice('boron', { protection: 'service' });
    for (let i = 1; i < SERVICE_MODE_RESETS; i++) await resetAndWait(d);
    expect(d.protection).toBe('service');
    await resetAndWait(d);
    expect(d.protection).toBe('protected');
  });

  it('Service Mode ends after 24 h on the device clock', () => {
    const d = fastDevice('boron', { protection: 'service' });
    d.advanceClock(SERVICE_MODE_MS - 1);
    expect(d.protection).toBe('service');
    d.advanceClock(1);
    expect(d.protection).toBe('protected');
  });

  it('Device OS 6.0 knows protection but not Service Mode (77 is -120)', async () => {
    const d = fastDevice('boron', {
      deviceOs: { version: '6.0.0', systemModuleVersion: 6000 },
      protection: 'protected',
    });
    expect((await setProtected(d, { action: 0 })).result).toBe(-120);
    expect(() => fastDevice('boron', { deviceOs: { version: '6.0.0' }, protection: 'service' })).toThrow(
      /service/,
    );
  });
});

describe('updates and protection', () => {
  const bootloader = (protectedExt: boolean) =>
    makeModule({
      platformId: 13,
      func: 2,
      index: 0,
      version: 3100,
      start: 0xf4000,
      size: 12_000,
      protectedExt,
    });

  it('in Service Mode a bootloader must keep the device protected (-1801), and old system parts are refused', async () => {
    const d = fastDevice('boron', { protection: 'service' });
    expect((await updateFirmware(d, bootloader(false))).result).toBe(PROTECTION_ERROR.PROTECTED);
    const oldSystem = makeModule({ platformId: 13, func: 4, index: 1, version: 5900, start: 0x30000 });
    expect((await updateFirmware(d, oldSystem)).result).toBe(PROTECTION_ERROR.PROTECTED);
    const back = nextConnect(d);
    expect((await updateFirmware(d, bootloader(true))).result).toBe(0);
    await back;
    expect(d.modules.find((m) => m.func === 2)).toMatchObject({ version: 3100, protected: true });
  });

  it('installing a protected bootloader on an open device turns protection on at the next boot', async () => {
    const d = fastDevice('boron');
    const back = nextConnect(d);
    expect((await updateFirmware(d, bootloader(true))).result).toBe(0);
    await back;
    expect(d.protection).toBe('protected');
  });
});

describe('protected DFU mode (bootloader usbd_dfu.cpp)', () => {
  it('string 0xFA says sm=o / sm=p / sm=s (Device OS ≥ 6.1.2); none before', async () => {
    expect(await readString(fastDevice('boron', { mode: 'dfu' }), 0xfa)).toBe('sm=o');
    expect(await readString(fastDevice('boron', { mode: 'dfu', protection: 'protected' }), 0xfa)).toBe(
      'sm=p',
    );
    expect(await readString(fastDevice('boron', { mode: 'dfu', protection: 'service' }), 0xfa)).toBe('sm=s');
    const old = fastDevice('boron', { mode: 'dfu', deviceOs: { version: '6.1.1' }, protection: 'protected' });
    await expect(readString(old, 0xfa)).rejects.toThrow(/stall/);
  });

  it('a protected device reports every segment erasable only, and refuses writes, erases and reads with errVENDOR', async () => {
    const d = fastDevice('boron', { mode: 'dfu', protection: 'protected' });
    expect(await readString(d, 6)).toBe(
      '@Internal Flash   /0x00000000/1*004Kb,47*004Kb,192*004Kb,4*004Kb,4*004Kb,8*004Kb',
    );
    expect(await erase(d, 0xb4000)).toMatchObject({
      status: DFU_STATUS.errVENDOR,
      state: DFU_STATE.dfuERROR,
    });
    await dfu(d).clrStatus();
    const up = await dfu(d).upload(2, 64);
    expect(up.status === 'ok' && up.data?.length).toBe(0);
    expect(await dfu(d).getStatus()).toMatchObject({
      status: DFU_STATUS.errVENDOR,
      state: DFU_STATE.dfuERROR,
    });
  });

  it('DfuSe 0xFB clears Service Mode from DFU mode (particle-usb unprotectDevice reset)', async () => {
    const d = fastDevice('boron', { mode: 'dfu', protection: 'service' });
    expect(await runCommand(d, DFUSE_COMMAND.CLEAR_SECURITY_MODE_OVERRIDE)).toMatchObject({
      status: DFU_STATUS.OK,
      state: DFU_STATE.dfuDNLOAD_IDLE,
    });
    expect(d.protection).toBe('protected');
    expect(await readString(d, 0xfa)).toBe('sm=p');
  });
});
