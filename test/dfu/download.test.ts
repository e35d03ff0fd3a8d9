import { describe, expect, it } from 'vitest';
import { DfuRequest, DfuseCommand } from '../../core/dfu';
import { dfuRequests, flashBytes, openSim, pattern } from './helpers';

const dnloads = (log: ReturnType<typeof dfuRequests>) => log.filter((r) => r.request === DfuRequest.DNLOAD);
const commandsOf = (log: ReturnType<typeof dfuRequests>, command: number) =>
  dnloads(log)
    .filter((r) => r.value === 0 && r.data?.[0] === command)
    .map((r) => new DataView((r.data as Uint8Array).buffer).getUint32(1, true));

describe('erase', () => {
  it('erases only the sectors an image covers, across sector sizes', async () => {
    const { session, log, device } = await openSim('photon');
    // 0x0800C000 is the first writable 16 KB sector; 0x5000 bytes reach into the 64 KB sector.
    await session.erase(0x0800c000, 0x5000);
    expect(commandsOf(dfuRequests(log), DfuseCommand.ERASE)).toEqual([0x0800c000, 0x08010000]);
    expect(device.stats.sectorsErased).toBe(2);
  });

  it('leaves the memory around the image untouched', async () => {
    const { session, device } = await openSim('boron');
    const a = pattern(4096, 1);
    const b = pattern(4096, 2);
    await session.erase(0xb4000, a.length);
    await session.download(0xb4000, a);
    await session.erase(0xb5000, b.length);
    await session.download(0xb5000, b);
    expect(flashBytes(device, 0, 0xb4000, 4096)).toEqual(a);
    expect(flashBytes(device, 0, 0xb5000, 4096)).toEqual(b);
  });
});

describe('download', () => {
  it('sets the address once and numbers blocks 2 + n, one GETSTATUS pair per block', async () => {
    const { session, log, device } = await openSim('boron');
    const data = pattern(3 * 4096 + 100);
    await session.erase(0xb4000, data.length);
    const start = log.length;
    await session.download(0xb4000, data);
    const reqs = dfuRequests(log.slice(start));
    expect(commandsOf(reqs, DfuseCommand.SET_ADDRESS)).toEqual([0xb4000]);
    const blocks = dnloads(reqs).filter((r) => r.value >= 2);
    expect(blocks.map((r) => [r.value, r.length])).toEqual([
      [2, 4096],
      [3, 4096],
      [4, 4096],
      [5, 100],
    ]);
    // One GETSTATUS to learn the state, then two per request (dfuDNBUSY, then dfuDNLOAD-IDLE),
    // never more: the engine does not poll in a loop when the device says it is done.
    const statuses = reqs.filter((r) => r.request === DfuRequest.GETSTATUS).length;
    expect(statuses).toBe(1 + 2 * (1 + blocks.length));
    // dfuDNLOAD-IDLE after the erase is a state DfuSe commands may start from: no ABORT needed.
    expect(reqs.filter((r) => r.request === DfuRequest.ABORT)).toEqual([]);
    expect(flashBytes(device, 0, 0xb4000, data.length)).toEqual(data);
  });

  it('honours a non-zero bwPollTimeout without extra polling', async () => {
    // pollTimeout 'operation': the device reports exactly how long it needs.
    const { session, log } = await openSim('boron', {
      timeScale: 0.001,
      timing: {
        pollTimeout: 'operation',
        busyPolicy: 'answer-busy',
        eraseMsBySectorSize: { 4096: 3 },
        programMsPerWord: 0.001,
      },
    });
    const data = pattern(8192);
    await session.erase(0xb4000, data.length);
    const start = log.length;
    await session.download(0xb4000, data);
    const statuses = dfuRequests(log.slice(start)).filter((r) => r.request === DfuRequest.GETSTATUS).length;
    // State check, then SET_ADDRESS + 2 blocks, each: GETSTATUS (dfuDNBUSY, poll N ms) → wait N →
    // GETSTATUS (dfuDNLOAD-IDLE). Polling early would show up here as extra requests.
    expect(statuses).toBe(1 + 2 * 3);
  });
});
