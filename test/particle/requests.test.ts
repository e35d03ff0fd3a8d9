import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeAssetInfo,
  decodeModuleInfo,
  getAssetInfo,
  getDeviceId,
  getDeviceMode,
  getModuleInfo,
  requestDfuMode,
  requestReset,
} from '../../core/particle/requests';
import { FakeControlDevice } from './fake-control-device';

// Replies are encoded with Particle's own protobuf definitions, so our hand decoder is checked
// against the reference field numbers and wire types.
const require = createRequire(import.meta.url);
const DeviceOSProtobuf = require('@particle/device-os-protobuf') as {
  encode(name: string, data: Record<string, unknown>): Uint8Array;
};
const pb = (name: string, data: Record<string, unknown>): Uint8Array =>
  new Uint8Array(DeviceOSProtobuf.encode(name, data));
const fast = { checkIntervals: [1] };

describe('GET_DEVICE_MODE', () => {
  it('reads normal (the proto3 default: empty reply) and listening', async () => {
    const normal = new FakeControlDevice({
      replies: { 72: { data: pb('GetDeviceModeReply', { mode: 0 }) } },
    });
    expect(await getDeviceMode(normal, fast)).toEqual({ ok: true, value: 'normal' });
    const listening = new FakeControlDevice({
      replies: { 72: { data: pb('GetDeviceModeReply', { mode: 1 }) } },
    });
    expect(await getDeviceMode(listening, fast)).toEqual({ ok: true, value: 'listening' });
  });

  it('names an unknown mode and an unsupported request', async () => {
    const odd = new FakeControlDevice({ replies: { 72: { data: pb('GetDeviceModeReply', { mode: 7 }) } } });
    const a = await getDeviceMode(odd, fast);
    expect(a.ok ? '' : a.error.code).toBe('PARTICLE_PROTOCOL_ERROR');
    const old = new FakeControlDevice({ replies: { 72: { result: -120 } } });
    const b = await getDeviceMode(old, fast);
    expect(b.ok ? '' : b.error.code).toBe('PARTICLE_REQUEST_NOT_SUPPORTED');
  });
});

describe('GET_DEVICE_ID', () => {
  it('decodes the ID string', async () => {
    const dev = new FakeControlDevice({
      replies: { 20: { data: pb('GetDeviceIdReply', { id: 'e00fce68aaaaaaaaaaaaaaaa' }) } },
    });
    expect(await getDeviceId(dev, fast)).toEqual({ ok: true, value: 'e00fce68aaaaaaaaaaaaaaaa' });
  });

  it('names a truncated reply', async () => {
    const bytes = pb('GetDeviceIdReply', { id: 'e00fce68aaaaaaaaaaaaaaaa' }).subarray(0, 10);
    const r = await getDeviceId(new FakeControlDevice({ replies: { 20: { data: bytes } } }), fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_PROTOCOL_ERROR');
  });
});

describe('MODULE_INFO', () => {
  it('decodes the current format (modules = 2) with validity and dependencies', () => {
    const bytes = pb('GetModuleInfoReply', {
      modules: [
        {
          type: 2,
          index: 0,
          version: 1200,
          store: 0,
          maxSize: 49152,
          checkedFlags: 0x1e,
          passedFlags: 0x1e,
          size: 40000,
        },
        {
          type: 4,
          index: 1,
          version: 5302,
          store: 0,
          maxSize: 1_048_576,
          checkedFlags: 0x1e,
          passedFlags: 0x1a,
          hash: Buffer.from([1, 2, 3]),
          dependencies: [{ type: 2, index: 0, version: 1200 }],
          size: 700_000,
        },
        { type: 5, index: 1, version: 6, store: 1, checkedFlags: 0, passedFlags: 0, size: 3000 },
      ],
    });
    const r = decodeModuleInfo(bytes);
    expect(r.ok && r.value).toEqual([
      {
        function: 'bootloader',
        index: 0,
        version: 1200,
        store: 'main',
        maxSize: 49152,
        valid: true,
        failedFlags: 0,
        size: 40000,
        dependencies: [],
      },
      {
        function: 'system',
        index: 1,
        version: 5302,
        store: 'main',
        maxSize: 1_048_576,
        valid: false,
        failedFlags: 0x04,
        hash: '010203',
        size: 700_000,
        dependencies: [{ function: 'bootloader', index: 0, version: 1200 }],
      },
      {
        function: 'user',
        index: 1,
        version: 6,
        store: 'factory',
        maxSize: 0,
        valid: true,
        failedFlags: 0,
        size: 3000,
        dependencies: [],
      },
    ]);
  });

  it('reads the SHA-256 (field 8) as 64 lower-case hex characters, and leaves out an empty one', () => {
    const sha = Buffer.from('ab'.repeat(32), 'hex');
    const bytes = pb('GetModuleInfoReply', {
      modules: [
        { type: 2, index: 0, version: 1200, checkedFlags: 0x1e, passedFlags: 0x1e, hash: sha },
        { type: 7, index: 0, version: 5, hash: Buffer.alloc(0) },
      ],
    });
    const r = decodeModuleInfo(bytes);
    expect(r.ok && r.value[0]?.hash).toBe('ab'.repeat(32));
    expect(r.ok && r.value[1]).not.toHaveProperty('hash');
    expect(r.ok && r.value[1]?.function).toBe('ncp');
  });

  it('decodes the pre-5.6 format (modules_deprecated = 1) with its own function enum', () => {
    const bytes = pb('GetModuleInfoReply', {
      modulesDeprecated: [
        { type: 1, index: 0, version: 101, size: 16384, validity: 0 },
        {
          type: 2,
          index: 1,
          version: 1406,
          size: 262144,
          validity: 2,
          dependencies: [{ type: 1, index: 0, version: 101 }],
        },
        { type: 3, index: 1, version: 5, size: 2000, validity: 0 },
      ],
    });
    const r = decodeModuleInfo(bytes);
    expect(r.ok && r.value.map((m) => [m.function, m.index, m.version, m.valid])).toEqual([
      ['bootloader', 0, 101, true],
      ['system', 1, 1406, false],
      ['user', 1, 5, true],
    ]);
    expect(r.ok && r.value[1]?.dependencies).toEqual([{ function: 'bootloader', index: 0, version: 101 }]);
  });

  it('goes over the wire, chunked when large', async () => {
    const modules = Array.from({ length: 200 }, (_, i) => ({
      type: 5,
      index: i,
      version: i,
      size: 4096 + i,
    }));
    const dev = new FakeControlDevice({ replies: { 90: { data: pb('GetModuleInfoReply', { modules }) } } });
    const r = await getModuleInfo(dev, fast);
    expect(r.ok && r.value.length).toBe(200);
    expect(r.ok && r.value[199]?.size).toBe(4096 + 199);
  });
});

describe('DFU_MODE and RESET', () => {
  it('send the request type in INIT and succeed on an OK result', async () => {
    const dev = new FakeControlDevice();
    expect((await requestDfuMode(dev, fast)).ok).toBe(true);
    expect(dev.log[0]?.setup.index).toBe(50);
    const dev2 = new FakeControlDevice();
    expect((await requestReset(dev2, fast)).ok).toBe(true);
    expect(dev2.log[0]?.setup.index).toBe(40);
  });

  it('count a device that drops off right after the request as having accepted it', async () => {
    const dev = new FakeControlDevice({ disconnectOnCheck: true });
    expect((await requestDfuMode(dev, fast)).ok).toBe(true);
  });

  it('report an old Device OS as PARTICLE_NO_ANSWER', async () => {
    const r = await requestDfuMode(new FakeControlDevice({ stallInit: true }), fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_NO_ANSWER');
  });
});

describe('GET_ASSET_INFO', () => {
  it('reads the available and required assets (name, content hash, sizes) as Particle encodes them', async () => {
    const hash = Uint8Array.from({ length: 32 }, (_, i) => i);
    const reply = pb('GetAssetInfoReply', {
      available: [{ hash, name: 'sound.bin', size: 2000, storageSize: 1200 }],
      required: [{ hash: new Uint8Array(32), name: 'font.bin', size: 10 }],
    });
    const dev = new FakeControlDevice({ replies: { 91: { data: reply } } });
    const r = await getAssetInfo(dev, fast);
    expect(r).toEqual({
      ok: true,
      value: {
        available: [
          {
            name: 'sound.bin',
            hash: Array.from(hash, (x) => x.toString(16).padStart(2, '0')).join(''),
            size: 2000,
            storageSize: 1200,
          },
        ],
        required: [{ name: 'font.bin', hash: '0'.repeat(64), size: 10, storageSize: 0 }],
      },
    });
    expect(decodeAssetInfo(new Uint8Array(0))).toEqual({ ok: true, value: { required: [], available: [] } });
  });

  it('passes on a device without assets (before Device OS 5.5) as its refusal', async () => {
    const old = new FakeControlDevice({ replies: { 91: { result: -120 } } });
    const r = await getAssetInfo(old, fast);
    expect(r.ok).toBe(false);
  });
});
