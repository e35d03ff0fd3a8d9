import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { buildModule, parseModule } from '../../core/firmware';
import {
  defaultUpdateTimeoutMs,
  type NormalUpdateOptions,
  normalModeImage,
  updateModuleNormalMode,
} from '../../core/particle/normal-update';
import type { NormalUpdateProgress } from '../../core/particle/update-progress';
import { DEVICE_ID, type FakeUpdateBehaviour, FakeUpdateDevice, PORT } from './fake-update-device';

// The whole per-module operation against a device model on a one-port bus that resets after
// FINISH and comes back as a new enumeration (fake-update-device.ts). No timing assertions: the
// fake's delays are a few ms and every wait polls fast.

const require = createRequire(import.meta.url);
const pb = require('@particle/device-os-protobuf') as {
  decode(name: string, bytes: Uint8Array): Record<string, unknown>;
};
const BORON = 13;

const image = (spec: {
  function: 'bootloader' | 'ncp' | 'system' | 'asset';
  version: number;
  size?: number;
}) => {
  const data = buildModule({
    platformId: BORON,
    function: spec.function,
    index: spec.function === 'system' ? 1 : 0,
    version: spec.version,
    bodySize: spec.size ?? 3000,
  });
  const parsed = parseModule(`${spec.function}.bin`, data);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return normalModeImage(data, parsed.module, `${spec.function}.bin`);
};

const bootloader = image({ function: 'bootloader', version: 1300 });

const fast: NormalUpdateOptions = {
  pollMs: 2,
  retryDelayMs: 1,
  heartbeatMs: 0,
  listeningTimeoutMs: 50,
  request: { checkIntervals: [1] },
  timeoutMs: 10_000,
};

let dev: FakeUpdateDevice | undefined;
afterEach(() => dev?.dispose());

const run = async (
  behaviour: FakeUpdateBehaviour = {},
  img = bootloader,
  options: NormalUpdateOptions = {},
) => {
  dev = new FakeUpdateDevice(behaviour);
  const progress: NormalUpdateProgress[] = [];
  const r = await updateModuleNormalMode(dev, dev.info, img, {
    ...fast,
    onProgress: (p) => progress.push(p),
    ...options,
  });
  return { r, dev, progress };
};

const types = (d: FakeUpdateDevice) => d.requests.map((q) => q.type);

describe('updateModuleNormalMode', () => {
  it('enters listening mode, sends the module, waits out the reset and finds it installed', async () => {
    const { r, dev, progress } = await run({ chunkSize: 1024 });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value).toMatchObject({
      function: 'bootloader',
      index: 0,
      version: 1300,
      previousVersion: 1200,
      hash: bootloader.module.sha256,
      hashCheck: 'matched',
      attempts: 1,
      chunkSize: 1024,
      listening: 'entered',
      idConfirmed: true,
    });
    // Same port, same ID, a new enumeration.
    expect(r.value.device).toMatchObject({ portPath: PORT, serialNumber: DEVICE_ID, key: 'k2' });
    const chunks = Math.ceil(bootloader.data.length / 1024);
    expect(types(dev)).toEqual([90, 72, 70, 72, 250, ...Array(chunks).fill(253), 251, 90]);
    expect(dev.requests.at(-1)?.key).toBe('k2');
    expect(dev.events).toEqual(['detach k1', 'attach k2']);
    // Phases in order, each announced; bytes reach the total while sending.
    const phases = progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    expect(phases).toEqual(['preparing', 'sending', 'applying', 'rebooting', 'verifying']);
    const sent = progress.filter((p) => p.phase === 'sending').at(-1);
    expect(sent).toMatchObject({ bytesDone: bootloader.data.length, bytesTotal: bootloader.data.length });
    expect(progress.every((p) => p.expectedMs === undefined || p.expectedMs >= 0)).toBe(true);
  });

  it('chunks by the size the device names', async () => {
    const { r, dev } = await run({ chunkSize: 500 });
    expect(r.ok).toBe(true);
    const sizes = dev
      .of(253)
      .map((q) => (pb.decode('FirmwareUpdateDataRequest', q.payload).data as Uint8Array).length);
    expect(sizes.slice(0, -1).every((n) => n === 500)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(bootloader.data.length);
  });

  it('restarts from START after a DATA error (the device cancelled the transfer)', async () => {
    const { r, dev, progress } = await run({
      chunkSize: 512,
      dataFault: { chunk: 2, result: -290, transfers: 1 },
    });
    expect(r.ok && r.value.attempts).toBe(2);
    expect(dev.of(250).length).toBe(2);
    expect(dev.of(251).length).toBe(1);
    expect(progress.some((p) => p.attempt === 2 && p.phase === 'sending')).toBe(true);
  });

  it('retries a device busy with another update (-210 at START), then names it if it stays busy', async () => {
    const ok = await run({ startResults: [-210, -210] });
    expect(ok.r.ok && ok.r.value.attempts).toBe(3);
    const busy = await run({ startResults: [-210, -210, -210] });
    expect(busy.r.ok ? '' : busy.r.error.code).toBe('DEVICE_BUSY_UPDATING');
    expect(busy.r.ok ? undefined : busy.r.error.details).toMatchObject({ attempts: 3, phase: 'preparing' });
  });

  it.each([
    ['finish', -1340, 'DEVICE_UPDATE_REJECTED_DEPENDENCY'],
    ['finish', -1330, 'DEVICE_UPDATE_REJECTED_INTEGRITY'],
    ['start', -1380, 'DEVICE_UPDATES_DISABLED'],
    ['start', -1801, 'DEVICE_PROTECTED'],
    ['start', -1351, 'DEVICE_UPDATE_REJECTED_SIZE'],
  ] as const)(
    'never retries a refusal (%s %i → %s) and leaves listening mode',
    async (step, result, code) => {
      const { r, dev } = await run(
        step === 'start' ? { startResults: [result] } : { finishResults: [result] },
      );
      expect(r.ok ? '' : r.error.code).toBe(code);
      expect(r.ok ? '' : r.error.remedy).toBeTruthy();
      expect(dev.of(250).length).toBe(1);
      expect(dev.of(71).length).toBe(1);
      expect(dev.listening).toBe(false);
    },
  );

  it('calls a device that comes back with the old version DEVICE_UPDATE_NOT_APPLIED', async () => {
    const { r } = await run({ apply: 'no' });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_NOT_APPLIED');
    expect(r.ok ? '' : r.error.message).toContain('still at version 1200');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ phase: 'verifying', previousVersion: 1200 });
  });

  it('names a module whose SHA-256 on the device is not the file’s', async () => {
    const { r } = await run({ apply: 'other-hash' });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_HASH_MISMATCH');
  });

  it('names a module the device installed but whose checks fail', async () => {
    const { r } = await run({ apply: 'invalid' });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_MODULE_INVALID');
    expect(r.ok ? undefined : r.error.details?.failedChecks).toEqual(['dependencies']);
  });

  it('verifies by version and validity where the device reports no hash, and says so', async () => {
    const { r } = await run({ reportHash: 'none' });
    expect(r.ok && r.value.hashCheck).toBe('not-reported');
  });

  it('treats NCP firmware as slow: 240 s by default, applying announced with a minutes-long hint', async () => {
    expect(defaultUpdateTimeoutMs('ncp')).toBe(240_000);
    expect(defaultUpdateTimeoutMs('bootloader')).toBe(120_000);
    const ncp = image({ function: 'ncp', version: 5 });
    const { r, progress } = await run({ applyMs: 30 }, ncp, { heartbeatMs: 2 });
    expect(r.ok && r.value.hashCheck).toBe('not-comparable');
    const applying = progress.filter((p) => p.phase === 'applying');
    expect(applying.length).toBeGreaterThan(0);
    expect(applying.every((p) => p.expectedMs === 120_000 && p.bytesDone === ncp.data.length)).toBe(true);
  });

  it('survives a device that resets in the middle of the transfer: finds it again on its port', async () => {
    const { r, dev } = await run({ chunkSize: 512, resetAtChunk: 1 });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    expect(r.value.attempts).toBe(2);
    expect(dev.of(250).map((q) => q.key)).toEqual(['k1', 'k2']);
    expect(r.value.device.key).toBe('k3');
  });

  it('takes a FINISH lost with the device’s reset as unconfirmed, and lets the module decide', async () => {
    const { r } = await run({ resetDuringFinish: true });
    expect(r.ok && r.value.attempts).toBe(1);
  });

  it('asks for module info again when the freshly booted device is busy', async () => {
    const { r } = await run({ moduleInfoResults: [-110] });
    expect(r.ok).toBe(true);
    const never = await run({ moduleInfoResults: [-120] });
    expect(never.r.ok ? '' : never.r.error.code).toBe('DEVICE_UPDATE_UNVERIFIED');
  });

  it('names a device that comes back in DFU mode, or not at all', async () => {
    const dfu = await run({ comeBack: 'dfu' });
    expect(dfu.r.ok ? '' : dfu.r.error.code).toBe('DEVICE_WRONG_MODE');
    const never = await run({ comeBack: 'never' }, bootloader, { rebootTimeoutMs: 50 });
    expect(never.r.ok ? '' : never.r.error.code).toBe('DEVICE_NEVER_CAME_BACK');
    expect(never.r.ok ? undefined : never.r.error.details).toMatchObject({ phase: 'rebooting' });
  });

  it('stops on the AbortSignal with ABORTED', async () => {
    const ctl = new AbortController();
    const { r, dev } = await run({ chunkSize: 256 }, bootloader, {
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.phase === 'sending' && p.bytesDone >= 1024) ctl.abort();
      },
    });
    expect(r.ok ? '' : r.error.code).toBe('ABORTED');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ phase: 'sending' });
    expect(dev.events).toContain('cancel');
    expect(dev.of(251)).toEqual([]);
  });

  it('gives up at its overall timeout with DEVICE_UPDATE_TIMEOUT', async () => {
    const { r } = await run({ chunkSize: 256, hangAtChunk: 2 }, bootloader, { timeoutMs: 300 });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_TIMEOUT');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ phase: 'sending', timeoutMs: 300 });
  });

  it('carries on when listening mode is refused or cannot be confirmed, as Particle’s tools do', async () => {
    const refused = await run({ listeningResult: -130 });
    expect(refused.r.ok && refused.r.value.listening).toBe('unconfirmed');
    const old = await run({ noModeRequest: true });
    expect(old.r.ok && old.r.value.listening).toBe('not-reported');
    const skipped = await run({}, bootloader, { enterListening: false });
    expect(skipped.r.ok && skipped.r.value.listening).toBe('skipped');
    expect(skipped.dev.of(70)).toEqual([]);
  });

  it('refuses what it cannot do before touching the device', async () => {
    const empty = await run({}, { ...bootloader, data: new Uint8Array(0) });
    expect(empty.r.ok ? '' : empty.r.error.code).toBe('DEVICE_UPDATE_EMPTY_IMAGE');
    const asset = await run({}, image({ function: 'asset', version: 1 }));
    expect(asset.r.ok ? '' : asset.r.error.code).toBe('DEVICE_UPDATE_ASSET_UNSUPPORTED');
    expect(asset.dev.requests).toEqual([]);
    dev = new FakeUpdateDevice();
    const r = await updateModuleNormalMode(dev, { ...dev.info, productId: 0xd00d }, bootloader, fast);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_WRONG_MODE');
  });
});
