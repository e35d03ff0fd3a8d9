import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { CTRL_REQUEST, SERVICE, SERVICE_STATUS, type SimDevice, SYSTEM_ERROR } from '../../core/sim';
import { encodeServiceReply } from '../../core/sim/control-service';
import { dataOf, fastDevice, nextConnect, nextDisconnect } from './helpers';

interface Decoder {
  decode(b: Uint8Array): Record<string, unknown>;
}
const require = createRequire(import.meta.url);
/** Particle's own protobuf definitions: the proof our hand encoding uses the right field numbers. */
const proto = (require('@particle/device-os-protobuf') as { definitions: Record<string, Decoder> })
  .definitions;
const decoder = (name: string): Decoder => {
  const d = proto[name];
  if (!d) throw new Error(`no protobuf definition ${name}`);
  return d;
};

const parseReply = (b: Uint8Array) => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = v.getUint32(0, true);
  const rep: { flags: number; status: number; id?: number; size?: number; result?: number } = {
    flags,
    status: v.getUint16(4, true),
  };
  let o = 6;
  if (flags & 2) {
    rep.id = v.getUint16(o, true);
    o += 2;
  }
  if (flags & 4) {
    rep.size = v.getUint32(o, true);
    o += 4;
  }
  if (flags & 8) rep.result = v.getInt32(o, true);
  return rep;
};

const service = async (d: SimDevice, bRequest: number, wIndex: number, wValue = 0) =>
  parseReply(dataOf(await d.handleControl({ bmRequestType: 0xc0, bRequest, wValue, wIndex, wLength: 64 })));

/** A whole service call as particle-usb makes it: INIT, SEND chunks, CHECK until done, RECV. */
const call = async (d: SimDevice, type: number, payload = new Uint8Array(0)) => {
  const init = await service(d, SERVICE.INIT, type, payload.length);
  if (init.status !== SERVICE_STATUS.OK || init.id === undefined) return { init };
  const id = init.id;
  if (payload.length > 0) {
    const r = await d.handleControl(
      { bmRequestType: 0x40, bRequest: SERVICE.SEND, wValue: 0, wIndex: id, wLength: payload.length },
      payload,
    );
    expect(r.status).toBe('ok');
  }
  for (let i = 0; i < 100; i++) {
    const check = await service(d, SERVICE.CHECK, id);
    if (check.status === SERVICE_STATUS.PENDING) continue;
    let data: Uint8Array = new Uint8Array(0);
    if (check.size) {
      data = dataOf(
        await d.handleControl({
          bmRequestType: 0xc0,
          bRequest: SERVICE.RECV,
          wValue: 0,
          wIndex: id,
          wLength: check.size,
        }),
      );
    }
    return { init, check, data };
  }
  throw new Error('request never completed');
};

describe('service reply encoding', () => {
  it('lays out flags, status, id, size, result little-endian as particle-usb parses them', () => {
    expect([...encodeServiceReply({ status: 0, id: 0x1234 })]).toEqual([3, 0, 0, 0, 0, 0, 0x34, 0x12]);
    const r = parseReply(encodeServiceReply({ status: 0, size: 7, result: -120 }));
    expect(r).toEqual({ flags: 0x0d, status: 0, size: 7, result: -120 });
  });
});

describe('Particle control requests', () => {
  it('GET_DEVICE_ID round trip returns the device ID in GetDeviceIdReply', async () => {
    const d = fastDevice('boron');
    const r = await call(d, CTRL_REQUEST.GET_DEVICE_ID);
    expect(r.check).toMatchObject({ status: SERVICE_STATUS.OK, result: 0 });
    expect(decoder('GetDeviceIdReply').decode(r.data ?? new Uint8Array()).id).toBe(d.deviceId);
  });

  it('GET_DEVICE_MODE: normal mode is an empty message (proto3 default), listening mode says 1', async () => {
    const d = fastDevice('argon');
    const normal = await call(d, CTRL_REQUEST.GET_DEVICE_MODE);
    expect(normal.check?.size).toBeUndefined();
    expect(normal.check?.result).toBe(0);
    const l = fastDevice('argon', { mode: 'listening' });
    const listening = await call(l, CTRL_REQUEST.GET_DEVICE_MODE);
    expect(decoder('GetDeviceModeReply').decode(listening.data ?? new Uint8Array()).mode).toBe(1);
  });

  it('START_LISTENING / STOP_LISTENING change the mode without re-enumerating', async () => {
    const d = fastDevice('p2');
    await call(d, CTRL_REQUEST.START_LISTENING);
    expect(d.mode).toBe('listening');
    await call(d, CTRL_REQUEST.STOP_LISTENING);
    expect(d.mode).toBe('normal');
    expect(d.stats.reenumerations).toBe(0);
  });

  it('MODULE_INFO (Device OS ≥ 5.6) decodes as GetModuleInfoReply.modules', async () => {
    const d = fastDevice('boron');
    const r = await call(d, CTRL_REQUEST.MODULE_INFO);
    const reply = decoder('GetModuleInfoReply').decode(r.data ?? new Uint8Array()) as {
      modules: {
        type: number;
        index: number;
        version: number;
        size: number;
        maxSize: number;
        dependencies: unknown[];
      }[];
    };
    expect(reply.modules.map((m) => [m.type, m.index, m.version])).toEqual([
      [2, 0, 3000],
      [4, 1, 6201],
      [5, 2, 6],
    ]);
    expect(reply.modules[2]?.maxSize).toBe(256 * 1024);
    expect(reply.modules[1]?.dependencies).toHaveLength(1);
  });

  it('MODULE_INFO on an older Device OS uses modules_deprecated with the legacy type enum', async () => {
    const d = fastDevice('photon', { deviceOs: { version: '2.3.1', systemModuleVersion: 2301 } });
    const r = await call(d, CTRL_REQUEST.MODULE_INFO);
    const reply = decoder('GetModuleInfoReply').decode(r.data ?? new Uint8Array()) as {
      modulesDeprecated: { type: number; version: number }[];
    };
    // Legacy enum: BOOTLOADER 1, SYSTEM_PART 2, USER_PART 3.
    expect(reply.modulesDeprecated.map((m) => [m.type, m.version])).toEqual([
      [1, 1200],
      [2, 2301],
      [3, 6],
    ]);
  });

  it('unknown request types complete with SYSTEM_ERROR_NOT_SUPPORTED', async () => {
    const r = await call(fastDevice('boron'), 9999);
    expect(r.check?.result).toBe(SYSTEM_ERROR.NOT_SUPPORTED);
  });

  it('a payload sent with SEND is accepted before processing', async () => {
    const r = await call(fastDevice('boron'), CTRL_REQUEST.GET_DEVICE_ID, Uint8Array.of(1, 2, 3));
    expect(r.check?.status).toBe(SERVICE_STATUS.OK);
  });

  it('CHECK of an unknown request answers NOT_FOUND; RESET forgets requests', async () => {
    const d = fastDevice('boron');
    expect((await service(d, SERVICE.CHECK, 77)).status).toBe(SERVICE_STATUS.NOT_FOUND);
    const init = await service(d, SERVICE.INIT, CTRL_REQUEST.GET_DEVICE_ID);
    expect((await service(d, SERVICE.RESET, 0)).status).toBe(SERVICE_STATUS.OK);
    expect((await service(d, SERVICE.CHECK, init.id ?? 0)).status).toBe(SERVICE_STATUS.NOT_FOUND);
  });

  it('CHECK answers PENDING until the modelled processing time has passed', async () => {
    const d = fastDevice('boron', { timeScale: 1, timing: { controlRequestMs: 60_000 } });
    const init = await service(d, SERVICE.INIT, CTRL_REQUEST.GET_DEVICE_ID);
    expect((await service(d, SERVICE.CHECK, init.id ?? 0)).status).toBe(SERVICE_STATUS.PENDING);
  });

  it('DFU_MODE: the reply goes out, then the device re-enumerates with the DFU PID and the same ID', async () => {
    const d = fastDevice('boron');
    const id = d.deviceId;
    const gone = nextDisconnect(d);
    const back = nextConnect(d);
    const r = await call(d, CTRL_REQUEST.DFU_MODE);
    expect(r.check?.result).toBe(0);
    expect(await gone).toMatch(/DFU_MODE/);
    expect(await back).toEqual({ mode: 'dfu' });
    expect(d.descriptors.productId).toBe(0xd00d);
    expect(d.descriptors.serialNumber).toBe(id);
  });

  it('RESET re-enumerates in normal mode (a listening device comes back normal)', async () => {
    const d = fastDevice('argon', { mode: 'listening' });
    const back = nextConnect(d);
    await call(d, CTRL_REQUEST.RESET);
    expect(await back).toEqual({ mode: 'normal' });
  });

  it('legacy 0x50 requests: system version IN, forced reset OUT', async () => {
    const d = fastDevice('photon', { deviceOs: { version: '1.5.2' } });
    const v = dataOf(
      await d.handleControl({ bmRequestType: 0xc0, bRequest: 0x50, wValue: 0, wIndex: 30, wLength: 64 }),
    );
    expect(new TextDecoder().decode(v)).toBe('1.5.2\0');
    const back = nextConnect(d);
    expect(
      (await d.handleControl({ bmRequestType: 0x40, bRequest: 0x50, wValue: 0, wIndex: 40, wLength: 0 }))
        .status,
    ).toBe('ok');
    expect(await back).toEqual({ mode: 'normal' });
  });

  it('RTL872x normal mode never completes a zero-length vendor OUT; one data byte works', async () => {
    const d = fastDevice('p2');
    const zlp = await d.handleControl({
      bmRequestType: 0x40,
      bRequest: 0x50,
      wValue: 0,
      wIndex: 40,
      wLength: 0,
    });
    expect(zlp).toEqual({ status: 'nak' });
    const back = nextConnect(d);
    const one = await d.handleControl(
      { bmRequestType: 0x40, bRequest: 0x50, wValue: 0, wIndex: 40, wLength: 1 },
      Uint8Array.of(0),
    );
    expect(one.status).toBe('ok');
    await back;
  });

  it('an old Device OS STALLs control requests; the 14400-baud serial trick still enters DFU', async () => {
    const d = fastDevice('electron', { deviceOs: { controlRequests: false, version: '0.6.4' } });
    const r = await d.handleControl({
      bmRequestType: 0xc0,
      bRequest: SERVICE.INIT,
      wValue: 0,
      wIndex: 50,
      wLength: 64,
    });
    expect(r).toEqual({ status: 'stall' });
    const back = nextConnect(d);
    d.setLineCoding(14400);
    expect(await back).toEqual({ mode: 'dfu' });
  });

  it('SET_LINE_CODING over ep0 at 28800 enters listening mode; GET_LINE_CODING reads it back', async () => {
    const d = fastDevice('boron');
    const coding = Uint8Array.of(0x80, 0x70, 0, 0, 0, 0, 8); // 28800 8N1
    const set = await d.handleControl(
      { bmRequestType: 0x21, bRequest: 0x20, wValue: 0, wIndex: 0, wLength: 7 },
      coding,
    );
    expect(set.status).toBe('ok');
    expect(d.mode).toBe('listening');
    const got = dataOf(
      await d.handleControl({ bmRequestType: 0xa1, bRequest: 0x21, wValue: 0, wIndex: 0, wLength: 7 }),
    );
    expect([...got]).toEqual([...coding]);
  });
});
