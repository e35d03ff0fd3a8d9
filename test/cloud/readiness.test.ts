import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudClient } from '../../core/cloud/client';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { releasedFirmwareCheck, releasedFirmwareDetail } from '../../core/cloud/readiness';
import { TOKEN } from './helpers';

describe('releasedFirmwareCheck', () => {
  let mock: MockCloud;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: 1, releasedFirmware: 5 }, { id: 2 }],
      tokens: [{ token: TOKEN }],
    });
  });
  afterAll(() => mock.close());
  const client = () => createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 300 });

  it('finds a released default firmware', async () => {
    expect(await releasedFirmwareCheck(client(), 1)).toBe('released');
    expect(await releasedFirmwareDetail(client(), 1)).toEqual({ status: 'released', version: 5 });
  });

  it('says none when firmware exists but none is released', async () => {
    mock.addFirmware(2, 1);
    expect(await releasedFirmwareCheck(client(), 2)).toBe('none');
    mock.addFirmware(2, 2, { released: true });
    expect(await releasedFirmwareCheck(client(), 2)).toBe('released');
  });

  it('says unknown when the cloud cannot be asked, and why', async () => {
    mock.setFaults('timeout');
    const d = await releasedFirmwareDetail(client(), 1);
    expect(d.status).toBe('unknown');
    expect(d.error?.code).toBe('CLOUD_TIMEOUT');
    mock.setFaults('');
    const noToken = createCloudClient({ baseUrl: mock.url, token: async () => undefined });
    expect(await releasedFirmwareCheck(noToken, 1)).toBe('unknown');
  });
});
