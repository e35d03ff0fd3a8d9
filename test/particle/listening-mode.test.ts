import { afterEach, describe, expect, it } from 'vitest';
import { enterListeningMode, stopListening } from '../../core/particle/listening-mode';
import { type FakeUpdateBehaviour, FakeUpdateDevice } from './fake-update-device';

const fast = { pollMs: 1, request: { checkIntervals: [1] } };

let dev: FakeUpdateDevice | undefined;
afterEach(() => dev?.dispose());

const open = async (b: FakeUpdateBehaviour = {}) => {
  dev = new FakeUpdateDevice(b);
  return { dev, handle: await dev.open(dev.info) };
};

describe('enterListeningMode', () => {
  it('asks with START_LISTENING, then polls GET_DEVICE_MODE until it says LISTENING', async () => {
    const { dev, handle } = await open({ listeningAfterPolls: 2 });
    expect(await enterListeningMode(handle, fast)).toEqual({ ok: true, value: 'entered' });
    // One mode read before asking, then three polls: NORMAL, NORMAL, LISTENING.
    expect(dev.requests.map((r) => r.type)).toEqual([72, 70, 72, 72, 72]);
  });

  it('does not ask a device that is already listening', async () => {
    const { dev, handle } = await open();
    dev.listening = true;
    expect(await enterListeningMode(handle, fast)).toEqual({ ok: true, value: 'already' });
    expect(dev.of(70)).toEqual([]);
  });

  it('stops polling a device that cannot report its mode, without failing', async () => {
    const { dev, handle } = await open({ noModeRequest: true });
    expect(await enterListeningMode(handle, fast)).toEqual({ ok: true, value: 'not-reported' });
    expect(dev.of(70).length).toBe(1);
  });

  it('gives up quietly on a device that refuses, after its bound', async () => {
    const { handle } = await open({ listeningResult: -130 });
    expect(await enterListeningMode(handle, { ...fast, timeoutMs: 20 })).toEqual({
      ok: true,
      value: 'unconfirmed',
    });
  });

  it('ends with ABORTED when the caller aborts', async () => {
    const { handle } = await open({ listeningAfterPolls: 1_000_000 });
    const ctl = new AbortController();
    const r = enterListeningMode(handle, { ...fast, pollMs: 5, signal: ctl.signal, timeoutMs: 60_000 });
    setTimeout(() => ctl.abort(), 10);
    const res = await r;
    expect(res.ok ? '' : res.error.code).toBe('ABORTED');
  });
});

describe('stopListening', () => {
  it('sends STOP_LISTENING (71)', async () => {
    const { dev, handle } = await open();
    dev.listening = true;
    expect((await stopListening(handle, { checkIntervals: [1] })).ok).toBe(true);
    expect(dev.listening).toBe(false);
  });
});
