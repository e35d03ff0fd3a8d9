import { describe, expect, it } from 'vitest';
import { controlRequest, rawControlRequest } from '../../core/particle/control-client';
import { FakeControlDevice } from './fake-control-device';

const fast = { checkIntervals: [1], timeoutMs: 5000 };

describe('rawControlRequest', () => {
  it('runs INIT, CHECK, RECV and returns result and data', async () => {
    const data = Uint8Array.from({ length: 10 }, (_, i) => i);
    const dev = new FakeControlDevice({ replies: { 20: { data } }, pendingChecks: 2 });
    const r = await rawControlRequest(dev, 20, undefined, fast);
    expect(r).toEqual({ ok: true, value: { result: 0, data } });
    expect(dev.log.map((l) => l.setup.request)).toEqual([1, 2, 2, 2, 4]);
    expect(dev.log[0]?.length).toBe(64);
  });

  it('receives a reply larger than 4096 bytes in 4096-byte chunks', async () => {
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
    const dev = new FakeControlDevice({ replies: { 90: { data } } });
    const r = await rawControlRequest(dev, 90, undefined, fast);
    expect(r.ok && r.value.data).toEqual(data);
    expect(dev.log.filter((l) => l.setup.request === 4).map((l) => l.length)).toEqual([4096, 4096, 1808]);
  });

  it('sends a payload in 4096-byte chunks, after a pending buffer allocation', async () => {
    const payload = Uint8Array.from({ length: 9000 }, (_, i) => (i * 7) & 0xff);
    const dev = new FakeControlDevice({ pendingAlloc: 2 });
    const r = await rawControlRequest(dev, 73, payload, fast);
    expect(r.ok).toBe(true);
    expect(dev.payloads.get(73)).toEqual(payload);
    expect(dev.log.filter((l) => l.dir === 'out').map((l) => l.length)).toEqual([4096, 4096, 808]);
    expect(dev.log[0]?.setup.value).toBe(9000);
  });

  it('resets stale requests when INIT says BUSY, then succeeds', async () => {
    const dev = new FakeControlDevice({ busyInits: 1 });
    const r = await rawControlRequest(dev, 72, undefined, fast);
    expect(r.ok).toBe(true);
    expect(dev.log.map((l) => l.setup.request)).toEqual([1, 5, 1, 2]);
    expect(dev.log[1]?.setup.index).toBe(0);
  });

  it('names a device that stays BUSY', async () => {
    const dev = new FakeControlDevice({ busyInits: 99 });
    const r = await rawControlRequest(dev, 72, undefined, { ...fast, busyRetries: 2 });
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_BUSY');
    expect(r.ok ? undefined : r.error.remedy).toBeTruthy();
  });

  it('names a device that STALLs INIT (old Device OS) PARTICLE_NO_ANSWER', async () => {
    const r = await rawControlRequest(new FakeControlDevice({ stallInit: true }), 50, undefined, fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_NO_ANSWER');
  });

  it('keeps USB_DISCONNECTED when the device drops mid-request, and does not try to reset it', async () => {
    const dev = new FakeControlDevice({ disconnectOnCheck: true });
    const r = await rawControlRequest(dev, 72, undefined, fast);
    expect(r.ok ? '' : r.error.code).toBe('USB_DISCONNECTED');
    expect(dev.log.at(-1)?.setup.request).toBe(2);
  });

  it('times out a request that never completes and frees its slot on the device', async () => {
    const dev = new FakeControlDevice({ forever: true });
    const r = await rawControlRequest(dev, 72, undefined, { checkIntervals: [5], timeoutMs: 60 });
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_TIMEOUT');
    const last = dev.log.at(-1);
    expect(last?.setup.request).toBe(5);
    expect(last?.setup.index).toBe(1);
  });

  it('names a cancelled request and a malformed reply', async () => {
    const a = await rawControlRequest(new FakeControlDevice({ notFound: true }), 72, undefined, fast);
    expect(a.ok ? '' : a.error.code).toBe('PARTICLE_REQUEST_CANCELLED');
    const b = await rawControlRequest(new FakeControlDevice({ malformed: true }), 72, undefined, fast);
    expect(b.ok ? '' : b.error.code).toBe('PARTICLE_PROTOCOL_ERROR');
  });

  it('honours an AbortSignal', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await rawControlRequest(new FakeControlDevice(), 72, undefined, { ...fast, signal: ac.signal });
    expect(r.ok ? '' : r.error.code).toBe('ABORTED');
  });
});

describe('controlRequest', () => {
  it('turns NOT_SUPPORTED and BUSY results into named errors', async () => {
    const dev = new FakeControlDevice({
      replies: { 72: { result: -120 }, 20: { result: -110 }, 90: { result: -210 } },
    });
    const a = await controlRequest(dev, 72, undefined, fast);
    expect(a.ok ? '' : a.error.code).toBe('PARTICLE_REQUEST_NOT_SUPPORTED');
    const b = await controlRequest(dev, 20, undefined, fast);
    expect(b.ok ? '' : b.error.code).toBe('PARTICLE_REQUEST_BUSY');
    const c = await controlRequest(dev, 90, undefined, fast);
    expect(c.ok ? '' : c.error.message).toContain('INVALID_STATE');
  });

  it('names a protected device (-1801) with what to do about it', async () => {
    const dev = new FakeControlDevice({ replies: { 90: { result: -1801 } } });
    const r = await controlRequest(dev, 90, undefined, fast);
    expect(r.ok ? '' : r.error.code).toBe('DEVICE_PROTECTED');
    expect(r.ok ? '' : r.error.message).toContain('MODULE_INFO');
    expect(r.ok ? '' : r.error.remedy).toContain('Service Mode');
  });
});
