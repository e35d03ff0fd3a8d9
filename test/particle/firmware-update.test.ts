import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  cancelUpdate,
  encodeDataRequest,
  encodeFinishRequest,
  encodeStartRequest,
  finishUpdate,
  MAX_DATA_CHUNK,
  START_CHECK_INTERVALS,
  sendData,
  sendFirmware,
  startUpdate,
} from '../../core/particle/firmware-update';
import { FakeUpdateDevice } from './fake-update-device';

// Every wait between CHECKs, as asked for (the waits still happen): which back-off a request used.
const { slept } = vi.hoisted(() => ({ slept: [] as number[] }));
vi.mock('../../core/time/sleep', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../core/time/sleep')>();
  return {
    ...real,
    sleep: (ms: number, signal?: AbortSignal) => {
      slept.push(ms);
      return real.sleep(ms, signal);
    },
  };
});

// The host side of START/DATA/FINISH/CANCEL against a device model that decodes our requests with
// Particle's own protobuf definitions (fake-update-device.ts).

const require = createRequire(import.meta.url);
const pb = require('@particle/device-os-protobuf') as {
  decode(name: string, bytes: Uint8Array): Record<string, unknown>;
};

const fast = { checkIntervals: [1] };
const image = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

let dev: FakeUpdateDevice | undefined;
afterEach(() => dev?.dispose());

const open = async (behaviour: ConstructorParameters<typeof FakeUpdateDevice>[0] = {}) => {
  dev = new FakeUpdateDevice(behaviour);
  return { dev, handle: await dev.open(dev.info) };
};

/** What the device received over all DATA requests, in order. */
const received = (d: FakeUpdateDevice): number[] =>
  d
    .of(253)
    .flatMap((r) => [...((pb.decode('FirmwareUpdateDataRequest', r.payload).data as Uint8Array) ?? [])]);

describe('request encoding (checked with @particle/device-os-protobuf)', () => {
  it('START carries the size, and MINIZ only when asked', () => {
    expect(pb.decode('StartFirmwareUpdateRequest', encodeStartRequest(829_248))).toMatchObject({
      size: 829_248,
      format: 0,
    });
    expect(pb.decode('StartFirmwareUpdateRequest', encodeStartRequest(10, 'miniz'))).toMatchObject({
      size: 10,
      format: 1,
    });
  });

  it('DATA carries the chunk, including one that needs a three-byte length', () => {
    for (const n of [1, 127, 128, 1024, MAX_DATA_CHUNK]) {
      const chunk = image(n);
      const decoded = pb.decode('FirmwareUpdateDataRequest', encodeDataRequest(chunk)).data as Uint8Array;
      expect(Uint8Array.from(decoded)).toEqual(chunk);
    }
    expect(encodeDataRequest(image(MAX_DATA_CHUNK)).length).toBeLessThanOrEqual(0xffff);
  });

  it('FINISH says validate_only only when asked', () => {
    expect(pb.decode('FinishFirmwareUpdateRequest', encodeFinishRequest(false)).validateOnly).toBe(false);
    expect(pb.decode('FinishFirmwareUpdateRequest', encodeFinishRequest(true)).validateOnly).toBe(true);
  });
});

describe('the single requests', () => {
  it('START returns the chunk size the device names, after the erase kept CHECK pending', async () => {
    const { handle } = await open({ chunkSize: 512, erasePendingChecks: 3 });
    expect(await startUpdate(handle, 2000, fast)).toEqual({ ok: true, value: { chunkSize: 512 } });
  });

  it('START polls a long erase at a short interval (never the 500 ms/1 s tail); a caller’s own back-off wins', async () => {
    const first = await open({ erasePendingChecks: 12 });
    slept.length = 0;
    expect((await startUpdate(first.handle, 48_000)).ok).toBe(true);
    // 12 CHECKs answered PENDING, then the answer: one wait before each.
    expect(slept).toEqual([
      ...START_CHECK_INTERVALS,
      ...Array<number>(13 - START_CHECK_INTERVALS.length).fill(25),
    ]);
    first.dev.dispose();
    const second = await open({ erasePendingChecks: 3 });
    slept.length = 0;
    expect((await startUpdate(second.handle, 48_000, { checkIntervals: [1] })).ok).toBe(true);
    expect(slept).toEqual([1, 1, 1, 1]);
  });

  it('START names a chunk size of 0 instead of looping forever', async () => {
    const { handle } = await open({ chunkSize: 0 });
    const r = await startUpdate(handle, 2000, fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_PROTOCOL_ERROR');
  });

  it('DATA without an open update is refused as the device says (-210)', async () => {
    const { handle } = await open();
    const r = await sendData(handle, image(10), 0, fast);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_DATA_REJECTED');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ step: 'data', result: -210, offset: 0 });
  });

  it('DATA refuses an empty chunk before sending it', async () => {
    const { dev, handle } = await open();
    const r = await sendData(handle, new Uint8Array(0), 0, fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_PROTOCOL_ERROR');
    expect(dev.requests).toEqual([]);
  });

  it('FINISH before all bytes arrived is DEVICE_UPDATE_INCOMPLETE; CANCEL always answers', async () => {
    const { handle } = await open();
    expect((await startUpdate(handle, 100, fast)).ok).toBe(true);
    expect((await sendData(handle, image(40), 0, fast)).ok).toBe(true);
    const r = await finishUpdate(handle, fast);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_INCOMPLETE');
    expect((await cancelUpdate(handle, fast)).ok).toBe(true);
  });
});

describe('sendFirmware', () => {
  it('sends START, then DATA strictly in order in the chunk size the device named, then FINISH', async () => {
    const { dev, handle } = await open({ chunkSize: 300 });
    const data = image(1000);
    const seen: number[] = [];
    const r = await sendFirmware(handle, data, { request: fast, onData: (n) => seen.push(n) });
    expect(r).toEqual({ ok: true, value: { chunkSize: 300, chunks: 4, finish: 'accepted' } });
    expect(dev.requests.map((q) => q.type)).toEqual([250, 253, 253, 253, 253, 251]);
    expect(seen).toEqual([300, 300, 300, 100]);
    expect(received(dev)).toEqual([...data]);
    expect(pb.decode('StartFirmwareUpdateRequest', dev.of(250)[0]?.payload ?? new Uint8Array()).size).toBe(
      1000,
    );
  });

  it('refuses an empty image without talking to the device', async () => {
    const { dev, handle } = await open();
    const r = await sendFirmware(handle, new Uint8Array(0), { request: fast });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_EMPTY_IMAGE');
    expect(dev.requests).toEqual([]);
  });

  it('stops at a DATA error and does not CANCEL: the device has already cancelled', async () => {
    const { dev, handle } = await open({
      chunkSize: 100,
      dataFault: { chunk: 2, result: -290, transfers: 1 },
    });
    const r = await sendFirmware(handle, image(1000), { request: fast });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_DATA_REJECTED');
    expect(r.ok ? undefined : r.error.details).toMatchObject({ offset: 200, result: -290 });
    expect(dev.of(251)).toEqual([]);
    expect(dev.of(252)).toEqual([]);
  });

  it('names a FINISH refusal and sends nothing after it', async () => {
    const { dev, handle } = await open({ finishResults: [-1360] });
    const r = await sendFirmware(handle, image(500), { request: fast });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_REJECTED_PLATFORM');
    expect(dev.requests.at(-1)?.type).toBe(251);
  });

  it('asks for validation only when told, and the device does not reset', async () => {
    const { dev, handle } = await open();
    const r = await sendFirmware(handle, image(500), { request: fast, validateOnly: true });
    expect(r.ok && r.value.finish).toBe('accepted');
    expect(
      pb.decode('FinishFirmwareUpdateRequest', dev.of(251)[0]?.payload ?? new Uint8Array()).validateOnly,
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(dev.events).toEqual([]);
  });

  it('sends MINIZ when asked, and names the refusal', async () => {
    const { handle } = await open();
    const r = await sendFirmware(handle, image(500), { request: fast, format: 'miniz' });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_COMPRESSED_REFUSED');
  });

  it('calls a FINISH the device dropped off during "unconfirmed", not a failure', async () => {
    const { handle } = await open({ resetDuringFinish: true });
    const r = await sendFirmware(handle, image(500), { request: fast });
    expect(r.ok && r.value.finish).toBe('unconfirmed');
  });

  it('gives up at its deadline with DEVICE_UPDATE_TIMEOUT and cancels the open update', async () => {
    const { dev, handle } = await open({ chunkSize: 100, hangAtChunk: 3 });
    const r = await sendFirmware(handle, image(1000), { request: fast, timeoutMs: 200 });
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_UPDATE_TIMEOUT');
    expect(r.ok ? undefined : r.error.remedy).toBeTruthy();
    expect(dev.events).toContain('cancel');
  });

  it('stops on the AbortSignal with ABORTED and cancels the open update', async () => {
    const { dev, handle } = await open({ chunkSize: 100 });
    const ctl = new AbortController();
    const r = await sendFirmware(handle, image(1000), {
      request: fast,
      signal: ctl.signal,
      onData: () => {
        if (dev.of(253).length === 3) ctl.abort();
      },
    });
    expect(r.ok ? '' : r.error.code).toBe('ABORTED');
    expect(dev.of(253).length).toBe(3);
    expect(dev.events).toContain('cancel');
  });
});
