import { describe, expect, it } from 'vitest';
import { runMockCloud } from '../../../core/cli/commands/mock-cloud';
import { captureIo } from '../../cloud/cli-io';

describe('linestation mock-cloud', () => {
  it('serves the product on 127.0.0.1, prints its URL, and stops on the signal', async () => {
    const c = captureIo();
    const ac = new AbortController();
    const { mock, closed } = await runMockCloud(
      { product: 77, token: 'demo', faults: 'seed=3', releasedFirmware: 4 },
      c.io,
      ac.signal,
    );
    expect(c.out[0]).toBe(`Mock Particle Cloud listening on ${mock.url}`);
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await fetch(`${mock.url}/v1/products/77/firmware`, {
      headers: { authorization: 'Bearer demo' },
    });
    expect(await r.json()).toEqual([expect.objectContaining({ version: 4, product_default: true })]);
    ac.abort();
    await closed;
    await expect(fetch(`${mock.url}/v1/products/77`)).rejects.toThrow();
  });

  it('--simulated-devices --device-protection: knows any simulated device for Service Mode', async () => {
    const c = captureIo();
    const ac = new AbortController();
    const { mock, closed } = await runMockCloud(
      { product: 77, token: 'demo', simulatedDevices: true, deviceProtection: true },
      c.io,
      ac.signal,
    );
    try {
      expect(c.out.join('\n')).toMatch(
        /product 77 \(Device Protection active\).*\n.*knows every simulated device/,
      );
      const headers = { authorization: 'Bearer demo', 'content-type': 'application/json' };
      const product = await fetch(`${mock.url}/v1/products/77`, { headers });
      expect(await product.json()).toMatchObject({ product: { device_protection: 'active' } });
      // A device it was never told about: its key is derived from its ID, as the simulator's is.
      const r = await fetch(`${mock.url}/v1/products/77/devices/${'ab'.repeat(12)}/unprotect`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ action: 'prepare' }),
      });
      expect(r.status).toBe(200);
      await r.body?.cancel();
    } finally {
      ac.abort();
      await closed;
    }
  });

  it('--simulated-devices imports a simulated device’s SIM; --rate-limit answers 429 beyond it', async () => {
    const { simCellularIds } = await import('../../../core/sim');
    const c = captureIo();
    const ac = new AbortController();
    const { mock, closed } = await runMockCloud(
      { product: 77, token: 'demo', simulatedDevices: true, rateLimit: { requests: 2, windowMs: 60_000 } },
      c.io,
      ac.signal,
    );
    try {
      expect(c.out.join('\n')).toMatch(/rate limit: 2 requests per 60 s/);
      const id = 'cd'.repeat(12);
      const headers = { authorization: 'Bearer demo', 'content-type': 'application/json' };
      const r = await fetch(`${mock.url}/v1/products/77/devices`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ id, import_sims: true }),
      });
      expect(r.status).toBe(200);
      await r.body?.cancel();
      expect(mock.sims(77).map((s) => s.iccid)).toEqual([simCellularIds(id).iccid]);
      await (await fetch(`${mock.url}/v1/products/77`, { headers })).body?.cancel();
      const limited = await fetch(`${mock.url}/v1/products/77`, { headers });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      await limited.body?.cancel();
    } finally {
      ac.abort();
      await closed;
    }
  });

  it('refuses a bad fault spec with a usage error', async () => {
    const c = captureIo();
    await expect(
      runMockCloud({ faults: 'meteor:0.1' }, c.io, new AbortController().signal),
    ).rejects.toMatchObject({
      exitCode: 1,
    });
    expect(c.errs[0]).toMatch(/MOCK_BAD_FAULT_SPEC/);
  });
});
