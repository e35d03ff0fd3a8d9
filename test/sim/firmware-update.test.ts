import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware';
import { decodeAssetInfo } from '../../core/particle/requests';
import { SERVICE_STATUS, type SimDevice } from '../../core/sim';
import { UPDATE_CHUNK_SIZE, UPDATE_ERROR } from '../../core/sim/firmware-update';
import {
  begin,
  call,
  check,
  decode,
  encode,
  type ModuleSpec,
  makeModule,
  REQ,
  suffixShaOf,
  updateFirmware,
} from './control';
import { fastDevice, nextConnect } from './helpers';

const BORON = 13;
const ARGON = 12;
const P2 = 32;

interface ModuleInfo {
  type: number;
  index: number;
  version: number;
  hash: Uint8Array;
  checkedFlags: number;
  passedFlags: number;
  size: number;
  maxSize: number;
  security?: { mode?: number };
}

const moduleInfo = async (d: SimDevice) => {
  const r = await call(d, REQ.MODULE_INFO);
  return (decode('GetModuleInfoReply', r.data) as unknown as { modules: ModuleInfo[] }).modules;
};

const start = (d: SimDevice, size: number, format = 0) =>
  call(d, REQ.START, encode('StartFirmwareUpdateRequest', { size, format }));
const data = (d: SimDevice, bytes: Uint8Array) =>
  call(d, REQ.DATA, encode('FirmwareUpdateDataRequest', { data: bytes }));
const finish = (d: SimDevice, validateOnly = false) =>
  call(d, REQ.FINISH, encode('FinishFirmwareUpdateRequest', { validateOnly }));

/** A Gen 3 user part for a boron, depending on the system part the device runs. */
const userPart = (over: Partial<ModuleSpec> = {}) =>
  makeModule({
    platformId: BORON,
    func: 5,
    index: 2,
    version: 7,
    start: 0xb4000,
    size: 6000,
    deps: [{ func: 4, index: 1, version: 6201 }],
    ...over,
  });

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** An asset module as Particle's tools build it: the contents, a HASH record (SHA-256) and a NAME record. */
const assetModule = (name: string, contents: Uint8Array): Uint8Array =>
  buildModule({
    platformId: BORON,
    function: 'asset',
    version: 1,
    startAddress: 0,
    body: contents,
    suffixExtensions: [
      { type: 0x0010, payload: Uint8Array.of(0, 32, ...createHash('sha256').update(contents).digest()) },
      { type: 0x0011, payload: new TextEncoder().encode(name) },
    ],
  });

const assetsOf = (reply: Uint8Array) => {
  const r = decodeAssetInfo(reply);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

/** Updates and waits for the reset that follows a successful FINISH. */
const updateAndReboot = async (d: SimDevice, image: Uint8Array) => {
  const back = nextConnect(d);
  const r = await updateFirmware(d, image);
  expect(r).toEqual({ step: 'finish', result: 0 });
  return back;
};

describe('START_FIRMWARE_UPDATE (250)', () => {
  it('answers chunk_size 1024, as Device OS hard-codes it', async () => {
    const r = await start(fastDevice('boron'), 5000);
    expect(r.result).toBe(0);
    expect(decode('StartFirmwareUpdateReply', r.data).chunkSize).toBe(UPDATE_CHUNK_SIZE);
  });

  it('refuses size 0 and sizes beyond the OTA area with -1351, MINIZ with -120', async () => {
    const d = fastDevice('boron');
    expect((await start(d, 0)).result).toBe(UPDATE_ERROR.OTA_INVALID_SIZE);
    expect((await start(d, 1500 * 1024 + 1)).result).toBe(UPDATE_ERROR.OTA_INVALID_SIZE);
    expect((await start(d, 1500 * 1024)).result).toBe(0);
    expect((await start(d, 100, 1)).result).toBe(UPDATE_ERROR.NOT_SUPPORTED);
    // A Photon stages updates in 256 KB of internal flash.
    expect(
      (await start(fastDevice('photon', { deviceOs: { version: '2.3.1' } }), 256 * 1024 + 1)).result,
    ).toBe(UPDATE_ERROR.OTA_INVALID_SIZE);
  });

  it('refuses with -1380 when the application disabled updates', async () => {
    expect((await start(fastDevice('boron', { updatesEnabled: false }), 100)).result).toBe(
      UPDATE_ERROR.OTA_UPDATES_DISABLED,
    );
  });

  it('erases before it answers: CHECK is PENDING meanwhile and the erase counts as device time', async () => {
    const d = fastDevice('boron', { timeScale: 1, timing: { otaEraseMsPerSector: 60_000 } });
    const before = d.stats.inherentMs;
    const id = await begin(d, REQ.START, encode('StartFirmwareUpdateRequest', { size: 4096 }));
    expect((await check(d, id)).status).toBe(SERVICE_STATUS.PENDING);
    // A GET_DEVICE_ID behind it waits for the system thread too.
    const behind = await begin(d, 20, new Uint8Array(0));
    expect((await check(d, behind)).status).toBe(SERVICE_STATUS.PENDING);
    expect(d.stats.inherentMs - before).toBeGreaterThanOrEqual(60_000);
  });

  it('cancels an earlier transfer: the new one starts at offset 0', async () => {
    const d = fastDevice('boron');
    const image = userPart();
    await start(d, image.length);
    expect((await data(d, image.subarray(0, 1024))).result).toBe(0);
    await start(d, image.length);
    for (let o = 0; o < image.length; o += 1024)
      expect((await data(d, image.subarray(o, o + 1024))).result).toBe(0);
    const back = nextConnect(d);
    expect((await finish(d)).result).toBe(0);
    await back;
    expect(d.modules.find((m) => m.func === 5)?.version).toBe(7);
  });
});

describe('FIRMWARE_UPDATE_DATA (253)', () => {
  it('-210 without an open transfer', async () => {
    expect((await data(fastDevice('boron'), Uint8Array.of(1))).result).toBe(UPDATE_ERROR.INVALID_STATE);
  });

  it('-290 for an empty chunk or one past the announced size, and any error cancels the transfer', async () => {
    const d = fastDevice('boron');
    await start(d, 100);
    expect((await data(d, new Uint8Array(0))).result).toBe(UPDATE_ERROR.OUT_OF_RANGE);
    expect((await data(d, Uint8Array.of(1))).result).toBe(UPDATE_ERROR.INVALID_STATE);
    await start(d, 100);
    expect((await data(d, new Uint8Array(60))).result).toBe(0);
    expect((await data(d, new Uint8Array(41))).result).toBe(UPDATE_ERROR.OUT_OF_RANGE);
    expect(d.updateInProgress).toBe(false);
  });

  it('accepts chunks of any size from 1 to what remains', async () => {
    const d = fastDevice('boron');
    const image = userPart();
    await start(d, image.length);
    for (const [a, b] of [
      [0, 1],
      [1, 1500],
      [1500, image.length],
    ] as const)
      expect((await data(d, image.subarray(a, b))).result).toBe(0);
    expect((await finish(d, true)).result).toBe(0);
  });
});

describe('FINISH_FIRMWARE_UPDATE (251)', () => {
  it('-210 while bytes are missing, and the transfer is gone afterwards', async () => {
    const d = fastDevice('boron');
    await start(d, 100);
    await data(d, new Uint8Array(50));
    expect((await finish(d)).result).toBe(UPDATE_ERROR.INVALID_STATE);
    expect(d.updateInProgress).toBe(false);
  });

  it('validate_only answers the verdict and discards the upload: no reset, nothing applied', async () => {
    const d = fastDevice('boron');
    const image = userPart();
    expect(await updateFirmware(d, image, { validateOnly: true })).toEqual({ step: 'finish', result: 0 });
    expect(d.updateInProgress).toBe(false);
    expect((await finish(d)).result).toBe(UPDATE_ERROR.INVALID_STATE);
    expect(d.stats.reenumerations).toBe(0);
    expect(d.modules.find((m) => m.func === 5)?.version).toBe(6);
    const bad = await updateFirmware(d, userPart({ badCrc: true }), { validateOnly: true });
    expect(bad.result).toBe(UPDATE_ERROR.OTA_INTEGRITY_CHECK_FAILED);
  });

  const refusals: [string, string, ModuleSpec | (() => Uint8Array), number][] = [
    [
      'a CRC mismatch',
      'boron',
      { platformId: BORON, func: 5, index: 2, version: 7, start: 0xb4000, badCrc: true },
      -1330,
    ],
    [
      'another platform',
      'boron',
      { platformId: ARGON, func: 5, index: 2, version: 7, start: 0xb4000 },
      -1360,
    ],
    [
      'a system part whose bootloader is too old',
      'boron',
      {
        platformId: BORON,
        func: 4,
        index: 1,
        version: 6300,
        start: 0x30000,
        deps: [{ func: 2, index: 0, version: 9000 }],
      },
      -1340,
    ],
    [
      'a system part older than a dependent part requires (full dependency check)',
      'photon',
      { platformId: 6, func: 4, index: 1, version: 100, start: 0x08020000 },
      -1340,
    ],
    [
      'a module with no bounds on this platform',
      'boron',
      { platformId: BORON, func: 5, index: 7, version: 7, start: 0xb4000 },
      -1300,
    ],
    [
      'a module that ends outside its bounds',
      'boron',
      { platformId: BORON, func: 5, index: 2, version: 7, start: 0xf3800 },
      -1300,
    ],
    ['no prefix at all', 'boron', () => new Uint8Array(2000).fill(0x5a), -1300],
    [
      'a vector table with DROP_MODULE_INFO',
      'boron',
      { platformId: BORON, func: 4, index: 1, version: 6300, start: 0x30000, flags: 0x01, vectorTable: true },
      -1370,
    ],
    [
      'a compressed bootloader',
      'boron',
      { platformId: BORON, func: 2, index: 0, version: 3000, start: 0xf4000, flags: 0x02 },
      -1310,
    ],
    [
      'NCP firmware where no NCP is updatable',
      'boron',
      { platformId: BORON, func: 7, version: 5, start: 0, mcuTarget: 0x21 },
      -1300,
    ],
    [
      'NCP firmware for another NCP',
      'argon',
      { platformId: ARGON, func: 7, version: 5, start: 0, mcuTarget: 0x41 },
      -1360,
    ],
  ];
  it.each(refusals.map(([what, platform, spec, code]) => ({ what, platform, spec, code })))(
    'refuses $what ($platform) with $code',
    async ({ platform, spec, code }) => {
      const deviceOs =
        platform === 'photon'
          ? {
              deviceOs: { version: '2.3.1', systemModuleVersion: 2301 },
              modules: [
                { func: 2, index: 0, version: 1200, size: 1000 },
                { func: 4, index: 1, version: 2301, size: 1000 },
                {
                  func: 4,
                  index: 2,
                  version: 2301,
                  size: 1000,
                  dependencies: [{ func: 4, index: 1, version: 2301 }],
                },
              ],
            }
          : {};
      const d = fastDevice(platform, deviceOs);
      const image = typeof spec === 'function' ? spec() : makeModule(spec);
      expect(await updateFirmware(d, image)).toEqual({ step: 'finish', result: code });
      expect(d.stats.reenumerations).toBe(0);
    },
  );

  it("a user part's dependencies are optional over USB (userDepsOptional)", async () => {
    const d = fastDevice('boron');
    await updateAndReboot(d, userPart({ deps: [{ func: 4, index: 1, version: 9999 }] }));
    expect(d.modules.find((m) => m.func === 5)?.version).toBe(7);
  });
});

describe('applying an update', () => {
  it('a user part: FINISH 0, the device resets, MODULE_INFO reports it with the suffix SHA-256', async () => {
    const d = fastDevice('boron');
    const image = userPart();
    expect(await updateAndReboot(d, image)).toEqual({ mode: 'normal' });
    const user = (await moduleInfo(d)).find((m) => m.type === 5);
    expect(user).toMatchObject({ index: 2, version: 7, size: image.length, maxSize: 256 * 1024 });
    expect(user?.checkedFlags).toBe(user?.passedFlags);
    expect(Buffer.from(user?.hash ?? [])).toEqual(Buffer.from(suffixShaOf(image)));
    expect(Buffer.from(d.flash.get(0)?.read(0xb4000, image.length) ?? [])).toEqual(Buffer.from(image));
  });

  it('a Gen 3 bootloader lands in the region DFU reports read-only', async () => {
    const d = fastDevice('boron', { mode: 'normal' });
    const image = makeModule({
      platformId: BORON,
      func: 2,
      index: 0,
      version: 3100,
      start: 0xf4000,
      size: 20_000,
      vectorTable: true,
    });
    await updateAndReboot(d, image);
    expect(d.modules.find((m) => m.func === 2)?.version).toBe(3100);
    expect(Buffer.from(d.flash.get(0)?.read(0xf4000, image.length) ?? [])).toEqual(Buffer.from(image));
    expect(d.flash.get(0)?.segmentAt(0xf8000)?.writable).toBe(false);
  });

  it('a P2 user part grows down to 0x08600000', async () => {
    const d = fastDevice('p2');
    const image = makeModule({
      platformId: P2,
      func: 5,
      index: 1,
      version: 9,
      start: 0x085fa000,
      size: 24_576,
    });
    await updateAndReboot(d, image);
    expect(d.modules.find((m) => m.func === 5)).toMatchObject({ version: 9, index: 1 });
  });

  it('NCP firmware is applied before the reset; requests wait meanwhile; MODULE_INFO then shows it', async () => {
    // Time runs (scaled) so the NCP update is still going when the next request arrives.
    const d = fastDevice('argon', { timeScale: 0.001, timing: { ncpUpdateMs: 200_000 } });
    const image = makeModule({
      platformId: ARGON,
      func: 7,
      version: 5,
      start: 0,
      size: 8192,
      mcuTarget: 0x21,
    });
    const back = nextConnect(d);
    expect(await updateFirmware(d, image)).toEqual({ step: 'finish', result: 0 });
    const during = await call(d, REQ.MODULE_INFO, new Uint8Array(0), 3);
    expect(during.status).toBe(SERVICE_STATUS.PENDING);
    expect(d.modules.some((m) => m.func === 7)).toBe(false);
    await back;
    const ncp = (await moduleInfo(d)).find((m) => m.type === 7);
    expect(ncp).toMatchObject({ version: 5, index: 0 });
    // Device OS has no suffix to hash for the NCP: 32 zero bytes.
    expect([...(ncp?.hash ?? [])]).toEqual(new Array(32).fill(0));
  });

  it('an NCP update takes the modelled time (seconds to minutes), accounted as device time', async () => {
    const d = fastDevice('argon');
    const before = d.stats.inherentMs;
    await updateAndReboot(
      d,
      makeModule({ platformId: ARGON, func: 7, version: 5, start: 0, size: 800 * 1024, mcuTarget: 0x21 }),
    );
    expect(d.stats.inherentMs - before).toBeGreaterThan(30_000);
  });

  it('assets (Device OS ≥ 5.5) are stored before the reset; older releases do not know them', async () => {
    const d = fastDevice('boron');
    const asset = makeModule({ platformId: BORON, func: 9, version: 1, start: 0, size: 3000 });
    await updateAndReboot(d, asset);
    expect(d.assets).toHaveLength(1);
    const old = fastDevice('boron', { deviceOs: { version: '5.4.1', systemModuleVersion: 5401 } });
    expect((await updateFirmware(old, asset)).result).toBe(UPDATE_ERROR.OTA_MODULE_NOT_FOUND);
  });

  it('GET_ASSET_INFO (91) lists the stored assets by the NAME and HASH records; before 5.5 it is not supported', async () => {
    const d = fastDevice('boron');
    const empty = await call(d, REQ.GET_ASSET_INFO);
    expect(empty.result).toBe(0);
    expect(assetsOf(empty.data)).toEqual({ required: [], available: [] });
    const contents = Uint8Array.from({ length: 2000 }, (_, i) => i & 0xff);
    await updateAndReboot(d, assetModule('sound.bin', contents));
    const reply = (await call(d, REQ.GET_ASSET_INFO)).data;
    // Particle's own definitions read the same reply.
    expect(decode('GetAssetInfoReply', reply)).toMatchObject({
      available: [{ name: 'sound.bin', size: contents.length, storageSize: contents.length }],
    });
    const listed = assetsOf(reply);
    expect(listed.available).toEqual([
      { name: 'sound.bin', hash: sha256(contents), size: contents.length, storageSize: contents.length },
    ]);
    // A new version of the same asset replaces the old one.
    const newer = Uint8Array.from({ length: 1500 }, (_, i) => (i * 3) & 0xff);
    await updateAndReboot(d, assetModule('sound.bin', newer));
    const again = assetsOf((await call(d, REQ.GET_ASSET_INFO)).data);
    expect(again.available.map((a) => [a.name, a.hash])).toEqual([['sound.bin', sha256(newer)]]);
    const old = fastDevice('boron', { deviceOs: { version: '5.4.1', systemModuleVersion: 5401 } });
    expect((await call(old, REQ.GET_ASSET_INFO)).result).toBe(-120);
  });

  it('MODULE_INFO keeps the legacy format on Device OS before 5.6', async () => {
    const d = fastDevice('boron', { deviceOs: { version: '5.4.1', systemModuleVersion: 5401 } });
    await updateAndReboot(d, userPart({ deps: [{ func: 4, index: 1, version: 5401 }] }));
    const r = await call(d, REQ.MODULE_INFO);
    const legacy = decode('GetModuleInfoReply', r.data) as unknown as {
      modulesDeprecated: { type: number; version: number }[];
    };
    expect(legacy.modulesDeprecated.find((m) => m.type === 3)?.version).toBe(7);
  });

  it('a reset loses an open transfer', async () => {
    const d = fastDevice('boron');
    await start(d, 100);
    const back = nextConnect(d);
    await call(d, 40);
    await back;
    expect((await data(d, Uint8Array.of(1))).result).toBe(UPDATE_ERROR.INVALID_STATE);
  });

  it('a power cycle after FINISH still applies the update (the bootloader finds it pending)', async () => {
    const d = fastDevice('boron', { timing: { detachDelayMs: 60_000 }, timeScale: 1 });
    const image = userPart();
    // Time runs: only the detach is slow, so the pull happens while the device would still reset.
    const r = await updateFirmware(d, image);
    expect(r.result).toBe(0);
    d.powerOff('pulled');
    d.powerOn();
    expect(d.modules.find((m) => m.func === 5)?.version).toBe(7);
    d.dispose();
  });
});
