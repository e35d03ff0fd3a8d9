import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CloudClient, createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { flashDevice } from '../../core/dfu';
import { buildModule, crc32, parseModule } from '../../core/firmware';
import { protectModule } from '../../core/firmware/protect';
import { confirmBackInNormalMode, enterDfuMode } from '../../core/particle/mode-switch';
import { normalModeImage, updateModuleNormalMode } from '../../core/particle/normal-update';
import { getProtectedState } from '../../core/particle/protection';
import {
  type CloudAnswer,
  enterServiceMode,
  leaveServiceMode,
  type ServiceModeCloud,
  type ServiceModeOptions,
} from '../../core/particle/service-mode';
import { deriveP256KeyPair, SimBus, SimDevice, type SimDeviceOptions, simCloudKeys } from '../../core/sim';
import { simDeviceKeys } from '../../core/sim/protection';
import type { UsbDeviceInfo } from '../../core/usb/transport';

// The whole Service Mode exchange against the simulated Device OS (core/sim: 76/77 as
// system/src/control/config.cpp, the device's own P-256 key, trusting the simulator's cloud key)
// and the mock Particle Cloud on 127.0.0.1 (signing with that same cloud key, checking each
// device's signature with the public key registered for it, as the real cloud knows it from
// manufacturing).

const PORT = '1-4.2';
const PRODUCT = 4242;
const OPEN_PRODUCT = 5151;
const TOKEN = randomBytes(20).toString('hex');
const fast: ServiceModeOptions = { request: { checkIntervals: [1, 2, 5] }, timeoutMs: 30_000 };

let mock: MockCloud;
let client: CloudClient;
beforeAll(async () => {
  mock = await startMockCloud({
    products: [
      { id: PRODUCT, deviceProtection: true },
      { id: OPEN_PRODUCT, deviceProtection: false },
    ],
    tokens: [{ token: TOKEN }],
    protectionKey: simCloudKeys().privateKey,
  });
  client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 10_000 });
});
afterAll(() => mock.close());

let bus: SimBus | undefined;
afterEach(() => {
  bus?.dispose();
  bus = undefined;
});

let seed = 100;
/** A protected Boron on Device OS 6.2.1, in the product and known to the cloud unless told otherwise. */
const setup = async (
  options: Partial<SimDeviceOptions> = {},
  cloudSide: { product?: number; key?: 'device' | 'none' | 'other' } = {},
) => {
  bus = new SimBus();
  const device = new SimDevice({
    platform: 'boron',
    seed: seed++,
    timeScale: 0.001,
    protection: 'protected',
    ...options,
  });
  bus.plug(device, PORT);
  mock.addDevice(cloudSide.product ?? PRODUCT, device.deviceId);
  const key = cloudSide.key ?? 'device';
  if (key !== 'none')
    mock.addDeviceKey(
      device.deviceId,
      key === 'device'
        ? simDeviceKeys(device.deviceId).publicKey
        : deriveP256KeyPair('someone else').publicKey,
    );
  const info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  return { bus, device, info };
};

const unprotectCalls = (deviceId: string) =>
  mock
    .requests()
    .filter((r) => r.path.endsWith(`/devices/${deviceId}/unprotect`))
    .map((r) => (r.body as { action?: string }).action);

const stateOf = async (b: SimBus, info: UsbDeviceInfo) => {
  const current = (await b.list()).find((d) => d.portPath === info.portPath) ?? info;
  const h = await b.open(current);
  try {
    const s = await getProtectedState(h, { checkIntervals: [1, 2, 5] });
    return s.ok ? s.value.mode : s.error.code;
  } finally {
    await h.close();
  }
};

/** A Gen 3 bootloader the simulated Device OS accepts (stack pointer set, sealed), protected. */
const protectedBootloader = (version: number) => {
  const raw = buildModule({ platformId: 13, function: 'bootloader', version, bodySize: 4000 });
  const data = Uint8Array.from(raw);
  new DataView(data.buffer).setUint32(0, 0x2003fc00, true);
  data.set(
    createHash('sha256')
      .update(data.subarray(0, data.length - 38))
      .digest(),
    data.length - 38,
  );
  new DataView(data.buffer).setUint32(data.length - 4, crc32(data, 0, data.length - 4), false);
  const sealed = protectModule('bootloader.bin', data);
  if (!sealed.ok) throw new Error(sealed.error.message);
  const parsed = parseModule('bootloader.bin', sealed.value);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return normalModeImage(sealed.value, parsed.module, 'bootloader-protected.bin');
};

const codeOf = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

describe('Service Mode end to end: simulated device, mock cloud', () => {
  it('a CloudClient is the ServiceModeCloud the particle layer asks for', () => {
    const asCloud: ServiceModeCloud = client;
    expect(typeof asCloud.unprotectPrepare).toBe('function');
  });

  it('enters Service Mode, takes a protected bootloader in normal mode and a DFU write, then leaves it', async () => {
    const { bus, device, info } = await setup();
    expect(await stateOf(bus, info)).toBe('protected');

    const entered = await enterServiceMode(bus, info, client, { productId: PRODUCT, ...fast });
    if (!entered.ok) throw new Error(`${entered.error.code}: ${entered.error.message}`);
    expect(entered.value).toMatchObject({
      deviceId: device.deviceId,
      before: 'protected',
      protection: { protected: false, overridden: true, mode: 'service' },
    });
    expect(unprotectCalls(device.deviceId)).toEqual(['prepare', 'confirm']);

    // Normal mode: the bootloader must keep the device protected (Device OS refuses one that does not).
    const image = protectedBootloader(3100);
    const updated = await updateModuleNormalMode(bus, info, image, {
      pollMs: 5,
      retryDelayMs: 1,
      heartbeatMs: 0,
      request: { checkIntervals: [1, 2, 5] },
      timeoutMs: 30_000,
    });
    if (!updated.ok) throw new Error(`${updated.error.code}: ${updated.error.message}`);
    expect(updated.value).toMatchObject({ version: 3100, hashCheck: 'matched' });
    // Service Mode survives the update's reset (one of its 20).
    expect(await stateOf(bus, updated.value.device)).toBe('service');

    // DFU mode: writes and readback work while Service Mode lasts.
    const dfu = await enterDfuMode({ transport: bus }, updated.value.device, { pollMs: 5 });
    if (!dfu.ok) throw new Error(`${dfu.error.code}: ${dfu.error.message}`);
    const user = randomBytes(6000);
    const flashed = await flashDevice({ transport: bus, device: dfu.value.device }, [
      { label: 'user', alt: 0, address: 0xb4000, data: user },
    ]);
    if (!flashed.ok) throw new Error(`${flashed.error.code}: ${flashed.error.message}`);
    expect(flashed.value.verified).toBe(true);
    expect(device.flash.get(0)?.read(0xb4000, user.length)).toEqual(new Uint8Array(user));
    const back = await confirmBackInNormalMode(
      { transport: bus },
      { portPath: PORT, deviceId: device.deviceId, dfuKey: dfu.value.device.key },
      { pollMs: 5 },
    );
    if (!back.ok) throw new Error(`${back.error.code}: ${back.error.message}`);

    const before = mock.requests().length;
    const left = await leaveServiceMode(bus, back.value.device, fast);
    if (!left.ok) throw new Error(`${left.error.code}: ${left.error.message}`);
    expect(left.value).toMatchObject({
      before: 'service',
      protection: { protected: true, mode: 'protected' },
    });
    expect(mock.requests().length).toBe(before); // leaving needs no cloud
    expect(device.protection).toBe('protected');
    expect(device.modules.find((m) => m.func === 2)).toMatchObject({ version: 3100, protected: true });
  });

  it('renews Service Mode on a device already in it; leaving a device that is only protected does nothing', async () => {
    const { bus, info } = await setup({ protection: 'service' });
    const renewed = await enterServiceMode(bus, info, client, { productId: String(PRODUCT), ...fast });
    expect(renewed.ok && renewed.value).toMatchObject({ before: 'service', protection: { mode: 'service' } });
    const left = await leaveServiceMode(bus, info, fast);
    expect(left.ok && left.value.before).toBe('service');
    const again = await leaveServiceMode(bus, info, fast);
    expect(again.ok && again.value).toMatchObject({ before: 'protected', protection: { mode: 'protected' } });
  });
});

describe('Service Mode refusals: each named, the device left protected', () => {
  const refused = async (
    options: Partial<SimDeviceOptions>,
    cloudSide: Parameters<typeof setup>[1],
    productId: number = PRODUCT,
    cloud?: (device: SimDevice) => ServiceModeCloud,
  ) => {
    const { bus, device, info } = await setup(options, cloudSide);
    const r = await enterServiceMode(bus, info, cloud?.(device) ?? client, { productId, ...fast });
    return { r, device, state: await stateOf(bus, info) };
  };

  it('the cloud does not accept the device’s signature (it knows another key for it)', async () => {
    const { r, device, state } = await refused({}, { key: 'other' });
    expect(codeOf(r)).toBe('SERVICE_MODE_SIGNATURE_MISMATCH');
    expect(!r.ok && r.error.details).toMatchObject({
      side: 'cloud',
      step: 'cloud-confirm',
      cloudCode: 'CLOUD_SIGNATURE_INVALID',
    });
    expect(state).toBe('protected');
    expect(device.protection).toBe('protected');
  });

  it('the device does not accept the cloud’s signature (-1803)', async () => {
    const forging = (): ServiceModeCloud => ({
      unprotectPrepare: (p, id, o) => client.unprotectPrepare(p, id, o),
      unprotectConfirm: async (p, id, proof, o) => {
        const real = await client.unprotectConfirm(p, id, proof, o);
        if (!real.ok) return real;
        return { ok: true, value: { ...real.value, serverSignature: randomBytes(70) } };
      },
    });
    const { r, state } = await refused({}, {}, PRODUCT, forging);
    expect(codeOf(r)).toBe('SERVICE_MODE_SIGNATURE_MISMATCH');
    expect(!r.ok && r.error.details).toMatchObject({ side: 'device', step: 'device-confirm', result: -1803 });
    expect(state).toBe('protected');
  });

  it('a device that trusts another cloud (-1802)', async () => {
    const { r, state } = await refused({ serverPublicKey: deriveP256KeyPair('staging cloud').publicKey }, {});
    expect(codeOf(r)).toBe('SERVICE_MODE_SERVER_KEY_MISMATCH');
    expect(state).toBe('protected');
  });

  it('a device the product does not hold, a product without Device Protection, a device without a known key', async () => {
    const notHeld = await refused({}, { product: OPEN_PRODUCT }, PRODUCT);
    expect(codeOf(notHeld.r)).toBe('SERVICE_MODE_DEVICE_NOT_IN_PRODUCT');
    expect(notHeld.state).toBe('protected');
    const openProduct = await refused({}, { product: OPEN_PRODUCT }, OPEN_PRODUCT);
    expect(codeOf(openProduct.r)).toBe('SERVICE_MODE_PRODUCT_NOT_PROTECTED');
    expect(openProduct.state).toBe('protected');
    const noKey = await refused({}, { key: 'none' });
    expect(codeOf(noKey.r)).toBe('SERVICE_MODE_DEVICE_KEY_UNKNOWN');
    expect(!noKey.r.ok && noKey.r.error.details).toMatchObject({ step: 'cloud-prepare' });
    expect(noKey.state).toBe('protected');
  });

  it('the cloud is down or refuses the token: unavailable vs refused', async () => {
    mock.setFaults('503*1');
    const down = await refused({}, {});
    expect(codeOf(down.r)).toBe('SERVICE_MODE_CLOUD_UNAVAILABLE');
    expect(down.state).toBe('protected');
    mock.setFaults('401*1');
    const token = await refused({}, {});
    expect(codeOf(token.r)).toBe('SERVICE_MODE_CLOUD_REFUSED');
    expect(!token.r.ok && token.r.error.details).toMatchObject({ cloudCode: 'CLOUD_UNAUTHORIZED' });
    mock.setFaults('');
  });

  it('Device OS 6.0 is protected but has no Service Mode', async () => {
    const { r, state } = await refused({ deviceOs: { version: '6.0.0', systemModuleVersion: 6000 } }, {});
    expect(codeOf(r)).toBe('SERVICE_MODE_UNSUPPORTED');
    expect(state).toBe('protected');
  });
});

describe('Service Mode: nothing to do, wrong mode, timeouts', () => {
  it('an open device (and Device OS 5, which has no protection) is not protected: no cloud call', async () => {
    for (const options of [
      { protection: 'open' as const },
      { protection: 'open' as const, deviceOs: { version: '5.9.0', systemModuleVersion: 5900 } },
    ]) {
      const { bus, device, info } = await setup(options);
      const r = await enterServiceMode(bus, info, client, { productId: PRODUCT, ...fast });
      expect(codeOf(r)).toBe('SERVICE_MODE_NOT_PROTECTED');
      expect(unprotectCalls(device.deviceId)).toEqual([]);
      expect(codeOf(await leaveServiceMode(bus, info, fast))).toBe('SERVICE_MODE_NOT_PROTECTED');
      bus.dispose();
    }
  });

  it('a device in DFU mode is in the wrong mode for both', async () => {
    const { bus, info } = await setup({ mode: 'dfu' });
    expect(codeOf(await enterServiceMode(bus, info, client, { productId: PRODUCT, ...fast }))).toBe(
      'DEVICE_WRONG_MODE',
    );
    expect(codeOf(await leaveServiceMode(bus, info, fast))).toBe('DEVICE_WRONG_MODE');
  });

  /** A cloud that never answers until the caller gives up. */
  const silent: ServiceModeCloud = {
    unprotectPrepare: (_p, _id, o) =>
      new Promise<CloudAnswer<{ serverNonce: Uint8Array }>>((resolve) => {
        const give = () =>
          resolve({ ok: false, error: { code: 'CLOUD_ABORTED', message: 'cancelled', kind: 'aborted' } });
        if (o?.signal?.aborted) give();
        o?.signal?.addEventListener('abort', give, { once: true });
      }),
    unprotectConfirm: () => Promise.reject(new Error('not reached')),
  };

  it('the overall budget ends a cloud that never answers (SERVICE_MODE_TIMEOUT), an AbortSignal ends it as ABORTED', async () => {
    const { bus, info } = await setup();
    const timedOut = await enterServiceMode(bus, info, silent, {
      productId: PRODUCT,
      ...fast,
      timeoutMs: 500,
    });
    expect(codeOf(timedOut)).toBe('SERVICE_MODE_TIMEOUT');
    expect(!timedOut.ok && timedOut.error.details).toMatchObject({ timeoutMs: 500 });
    const controller = new AbortController();
    const pending = enterServiceMode(bus, info, silent, {
      productId: PRODUCT,
      ...fast,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    expect(codeOf(await pending)).toBe('ABORTED');
    expect(await stateOf(bus, info)).toBe('protected');
  });

  it('a cloud answer that comes after the device’s 60 s PREPARE window (-160)', async () => {
    const { bus, device, info } = await setup();
    const slow: ServiceModeCloud = {
      unprotectPrepare: (p, id, o) => client.unprotectPrepare(p, id, o),
      unprotectConfirm: async (p, id, proof, o) => {
        device.advanceClock(61_000);
        return client.unprotectConfirm(p, id, proof, o);
      },
    };
    const r = await enterServiceMode(bus, info, slow, { productId: PRODUCT, ...fast });
    expect(codeOf(r)).toBe('SERVICE_MODE_TIMEOUT');
    expect(!r.ok && r.error.details).toMatchObject({ step: 'device-confirm', cause: 'prepare-expired' });
    expect(await stateOf(bus, info)).toBe('protected');
  });
});
