import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudClient, createCloudClient, parseRetryAfter } from '../../core/cloud/client';
import { deviceSignedMessage, keyFingerprint, serverSignedMessage } from '../../core/cloud/mock-protection';
import { type MockCloud, startMockCloud } from '../../core/cloud/mock-server';
import { deviceId, PRODUCT, TOKEN } from './helpers';

describe('cloud client against the mock cloud', () => {
  let mock: MockCloud;
  let client: CloudClient;
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT, slug: 'widget', releasedFirmware: 3 }],
      tokens: [{ token: TOKEN }, { token: 'list-only', scopes: ['devices:list'] }],
      nonmemberDevices: [deviceId(900)],
      protectedDevices: [deviceId(901)],
    });
    // Roomy: on a loaded 2-core machine an answer from the in-process mock can take hundreds of
    // ms, and a client timeout there would turn a plain answer into CLOUD_TIMEOUT.
    client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 10_000 });
  });
  afterAll(() => mock.close());

  it('imports one device as {id} and several as {ids}', async () => {
    mock.setFaults('');
    mock.clearRequests();
    const one = await client.importDevices(String(PRODUCT), [deviceId(1)]);
    expect(one.ok && one.value.updatedDeviceIds).toEqual([deviceId(1)]);
    const many = await client.importDevices(String(PRODUCT), [deviceId(1), deviceId(2), deviceId(3)]);
    expect(many.ok && many.value.existingDeviceIds).toEqual([deviceId(1)]);
    expect(many.ok && many.value.updatedDeviceIds).toEqual([deviceId(2), deviceId(3)]);
    const bodies = mock.requests().map((r) => r.body);
    expect(bodies).toEqual([{ id: deviceId(1) }, { ids: [deviceId(1), deviceId(2), deviceId(3)] }]);
  });

  it('reports invalid, non-member and protected devices in their own lists', async () => {
    const r = await client.importDevices(String(PRODUCT), ['not-an-id', deviceId(900), deviceId(901)]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.invalidDeviceIds).toEqual(['not-an-id']);
    expect(r.value.nonmemberDeviceIds).toEqual([deviceId(900)]);
    expect(r.value.protectedDeviceIds).toEqual([deviceId(901)]);
  });

  it('sets development and groups, lists devices across pages, lists firmware, checks the token', async () => {
    const ids = Array.from({ length: 130 }, (_, i) => deviceId(1000 + i));
    await client.importDevices(String(PRODUCT), ids);
    const put = await client.updateDevice(String(PRODUCT), ids[0] ?? '', {
      development: true,
      groups: ['line-a'],
    });
    expect(put.ok).toBe(true);
    const d = mock.devices(PRODUCT).find((x) => x.id === ids[0]);
    expect(d?.development).toBe(true);
    expect(d?.groups).toEqual(['line-a']);
    const page = await client.listProductDevices(String(PRODUCT), { page: 1, perPage: 50 });
    expect(page.ok && page.value.totalPages).toBe(Math.ceil(mock.devices(PRODUCT).length / 50));
    const all = await client.listAllProductDevices('widget');
    expect(all.ok && all.value.length).toBe(mock.devices(PRODUCT).length);
    const fw = await client.listProductFirmware(String(PRODUCT));
    expect(fw.ok && fw.value.find((f) => f.product_default)?.version).toBe(3);
    const product = await client.checkToken('widget');
    expect(product.ok && product.value.id).toBe(PRODUCT);
  });

  it('classifies 401, 403 and 404 as configuration errors', async () => {
    const bad = createCloudClient({ baseUrl: mock.url, token: async () => 'wrong' });
    const r401 = await bad.importDevices(String(PRODUCT), [deviceId(5)]);
    expect(!r401.ok && [r401.error.code, r401.error.kind]).toEqual(['CLOUD_UNAUTHORIZED', 'config']);
    const listOnly = createCloudClient({ baseUrl: mock.url, token: async () => 'list-only' });
    const r403 = await listOnly.importDevices(String(PRODUCT), [deviceId(5)]);
    expect(!r403.ok && [r403.error.code, r403.error.kind]).toEqual(['CLOUD_FORBIDDEN', 'config']);
    expect(!r403.ok && r403.error.remedy).toMatch(/devices:import/);
    const r404 = await client.importDevices('no-such-product', [deviceId(5)]);
    expect(!r404.ok && [r404.error.code, r404.error.kind]).toEqual(['CLOUD_NOT_FOUND', 'config']);
    const none = createCloudClient({ baseUrl: mock.url, token: async () => undefined });
    const rNone = await none.checkToken(String(PRODUCT));
    expect(!rNone.ok && [rNone.error.code, rNone.error.kind]).toEqual(['CLOUD_NO_TOKEN', 'config']);
  });

  it('classifies 429 with Retry-After, 5xx, timeouts and dropped connections as transient', async () => {
    mock.setFaults('429,retryAfter=7');
    const r429 = await client.importDevices(String(PRODUCT), [deviceId(6)]);
    expect(!r429.ok && [r429.error.code, r429.error.kind, r429.error.retryAfterMs]).toEqual([
      'CLOUD_RATE_LIMITED',
      'backoff',
      7000,
    ]);
    mock.setFaults('503');
    const r5xx = await client.importDevices(String(PRODUCT), [deviceId(6)]);
    expect(!r5xx.ok && [r5xx.error.code, r5xx.error.kind, r5xx.error.status]).toEqual([
      'CLOUD_SERVER_ERROR',
      'backoff',
      503,
    ]);
    mock.setFaults('timeout');
    // The mock holds this request open: only a client timeout ends it, so use a short one.
    const impatient = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 300 });
    const rTimeout = await impatient.importDevices(String(PRODUCT), [deviceId(6)]);
    expect(!rTimeout.ok && [rTimeout.error.code, rTimeout.error.kind]).toEqual(['CLOUD_TIMEOUT', 'backoff']);
    mock.setFaults('drop');
    const rDrop = await client.importDevices(String(PRODUCT), [deviceId(6)]);
    expect(!rDrop.ok && [rDrop.error.code, rDrop.error.kind]).toEqual(['CLOUD_NETWORK', 'backoff']);
    mock.setFaults('');
    // None of those reached the product.
    expect(mock.devices(PRODUCT).some((d) => d.id === deviceId(6))).toBe(false);
  });

  it('classifies an unreachable cloud as a network failure and 400 as permanent', async () => {
    const closed = await startMockCloud();
    const url = closed.url;
    await closed.close();
    const offline = createCloudClient({ baseUrl: url, token: async () => TOKEN, timeoutMs: 10_000 });
    const r = await offline.importDevices(String(PRODUCT), [deviceId(7)]);
    expect(!r.ok && [r.error.code, r.error.kind]).toEqual(['CLOUD_NETWORK', 'backoff']);
    const r400 = await client.importDevices(String(PRODUCT), []);
    expect(!r400.ok && [r400.error.code, r400.error.kind, r400.error.status]).toEqual([
      'CLOUD_BAD_REQUEST',
      'permanent',
      400,
    ]);
  });

  it('honours an AbortSignal', async () => {
    mock.setFaults('timeout');
    const ac = new AbortController();
    const pending = client.importDevices(String(PRODUCT), [deviceId(8)], { signal: ac.signal });
    ac.abort();
    const r = await pending;
    expect(!r.ok && [r.error.code, r.error.kind]).toEqual(['CLOUD_ABORTED', 'aborted']);
    mock.setFaults('');
  });
});

describe('cloud client with an injected fetch', () => {
  const respond =
    (status: number, body: string, headers: Record<string, string> = {}): typeof fetch =>
    async () =>
      new Response(body, { status, headers });

  it('redacts a token that the server echoes in an error body', async () => {
    const client = createCloudClient({
      token: async () => TOKEN,
      fetch: respond(401, JSON.stringify({ error_description: `token ${TOKEN} expired; Bearer ${TOKEN}` })),
    });
    const r = await client.checkToken('1');
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    expect(!r.ok && r.error.message).toContain('[REDACTED]');
  });

  it('redacts a token that a network error message carries', async () => {
    const client = createCloudClient({
      token: async () => TOKEN,
      fetch: async () => {
        throw new TypeError(`fetch failed for Authorization: Bearer ${TOKEN}`);
      },
    });
    const r = await client.importDevices('1', [deviceId(1)]);
    expect(!r.ok && r.error.code).toBe('CLOUD_NETWORK');
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it('treats an unreadable 2xx body as transient, not as an acknowledgement', async () => {
    const client = createCloudClient({ token: async () => TOKEN, fetch: respond(200, '<html>proxy</html>') });
    const r = await client.importDevices('1', [deviceId(1)]);
    expect(!r.ok && [r.error.code, r.error.kind]).toEqual(['CLOUD_BAD_RESPONSE', 'backoff']);
  });

  it('sends the token only in the Authorization header', async () => {
    let seen: { url: string; headers: Headers; body: string } | undefined;
    const client = createCloudClient({
      token: async () => TOKEN,
      fetch: async (input, init) => {
        seen = { url: String(input), headers: new Headers(init?.headers), body: String(init?.body) };
        return new Response(JSON.stringify({ updatedDeviceIds: [deviceId(1)] }), { status: 200 });
      },
    });
    await client.importDevices('1', [deviceId(1)]);
    expect(seen?.headers.get('authorization')).toBe(`Bearer ${TOKEN}`);
    expect(seen?.url).not.toContain(TOKEN);
    expect(seen?.body).not.toContain(TOKEN);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, fractions and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.25')).toBe(250);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('cloud client: Service Mode (unprotect prepare/confirm) against the mock cloud', () => {
  let mock: MockCloud;
  let client: CloudClient;
  const ID = deviceId(60);
  const deviceKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const P = String(PRODUCT);
  beforeAll(async () => {
    mock = await startMockCloud({
      products: [{ id: PRODUCT, deviceProtection: true }, { id: 77 }],
      tokens: [{ token: TOKEN }, { token: 'import-only', scopes: ['devices:import'] }],
      deviceKeys: { [ID]: deviceKeys.publicKey },
    });
    for (const id of [ID, deviceId(61)]) mock.addDevice(PRODUCT, id);
    mock.addDevice(77, ID);
    client = createCloudClient({ baseUrl: mock.url, token: async () => TOKEN, timeoutMs: 10_000 });
  });
  afterAll(() => mock.close());

  /** The device's half, as Device OS signs it. */
  const proofFor = (serverNonce: Uint8Array, key = deviceKeys.privateKey) => {
    const deviceNonce = randomBytes(32);
    return {
      serverNonce,
      deviceNonce,
      deviceSignature: sign('sha256', deviceSignedMessage(ID, deviceNonce, serverNonce), key),
      devicePublicKeyFingerprint: keyFingerprint(deviceKeys.publicKey),
    };
  };

  it('prepare gives the nonce, confirm gives a signature the device can check with the mock’s key', async () => {
    const prepared = await client.unprotectPrepare(P, ID);
    if (!prepared.ok) throw new Error(prepared.error.message);
    expect(prepared.value.serverNonce).toHaveLength(32);
    const proof = proofFor(prepared.value.serverNonce);
    const confirmed = await client.unprotectConfirm(P, ID, proof);
    if (!confirmed.ok) throw new Error(confirmed.error.message);
    expect(Buffer.from(confirmed.value.serverPublicKeyFingerprint)).toEqual(
      keyFingerprint(mock.protectionPublicKeyPem),
    );
    const message = serverSignedMessage(
      ID,
      proof.serverNonce,
      proof.deviceNonce,
      proof.devicePublicKeyFingerprint,
    );
    expect(
      verify(
        'sha256',
        message,
        createPublicKey(mock.protectionPublicKeyPem),
        confirmed.value.serverSignature,
      ),
    ).toBe(true);
    expect(mock.requests().at(-1)?.body).toMatchObject({
      action: 'confirm',
      server_nonce: Buffer.from(proof.serverNonce).toString('base64'),
      device_nonce: proof.deviceNonce.toString('base64'),
    });
  });

  it('names each refusal: no Device Protection, not in the product, no key, bad signature, spent nonce', async () => {
    const code = async (p: Promise<{ ok: boolean; error?: { code: string; kind: string } }>) => {
      const r = await p;
      return r.ok ? 'ok' : `${r.error?.code}/${r.error?.kind}`;
    };
    expect(await code(client.unprotectPrepare('77', ID))).toBe('CLOUD_PROTECTION_NOT_ACTIVE/config');
    expect(await code(client.unprotectPrepare(P, deviceId(62)))).toBe(
      'CLOUD_DEVICE_NOT_IN_PRODUCT/permanent',
    );
    expect(await code(client.unprotectPrepare(P, deviceId(61)))).toBe('CLOUD_DEVICE_KEY_UNKNOWN/permanent');
    expect(await code(client.unprotectPrepare('99999', ID))).toBe('CLOUD_NOT_FOUND/config');
    const prepared = await client.unprotectPrepare(P, ID);
    if (!prepared.ok) throw new Error(prepared.error.message);
    const forged = proofFor(
      prepared.value.serverNonce,
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
    );
    expect(await code(client.unprotectConfirm(P, ID, forged))).toBe('CLOUD_SIGNATURE_INVALID/permanent');
    // The nonce was spent by the refused confirm.
    const again = proofFor(prepared.value.serverNonce);
    expect(await code(client.unprotectConfirm(P, ID, again))).toBe('CLOUD_NONCE_INVALID/permanent');
    const scoped = createCloudClient({ baseUrl: mock.url, token: async () => 'import-only' });
    expect(await code(scoped.unprotectPrepare(P, ID))).toBe('CLOUD_FORBIDDEN/config');
    mock.setFaults('503*1');
    expect(await code(client.unprotectPrepare(P, ID))).toBe('CLOUD_SERVER_ERROR/backoff');
    mock.setFaults('');
  });
});

describe('cloud client: unprotect with an injected fetch', () => {
  it('sends PUT …/devices/:id/unprotect with base64 fields, and redacts an echoed token', async () => {
    let seen: { url: string; method: string; body: string } | undefined;
    const client = createCloudClient({
      token: async () => TOKEN,
      fetch: async (input, init) => {
        seen = { url: String(input), method: String(init?.method), body: String(init?.body) };
        return new Response(JSON.stringify({ ok: false, error: `Invalid device signature for ${TOKEN}` }), {
          status: 400,
        });
      },
    });
    const proof = {
      serverNonce: Uint8Array.of(1, 2, 3),
      deviceNonce: Uint8Array.of(4),
      deviceSignature: Uint8Array.of(5),
      devicePublicKeyFingerprint: Uint8Array.of(6),
    };
    const r = await client.unprotectConfirm('42', deviceId(1), proof);
    expect(seen).toEqual({
      url: `https://api.particle.io/v1/products/42/devices/${deviceId(1)}/unprotect`,
      method: 'PUT',
      body: JSON.stringify({
        action: 'confirm',
        server_nonce: 'AQID',
        device_nonce: 'BA==',
        device_signature: 'BQ==',
        device_public_key_fingerprint: 'Bg==',
      }),
    });
    expect(!r.ok && r.error.code).toBe('CLOUD_SIGNATURE_INVALID');
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it('reads an unrecognised refusal as the generic class, and an answer without a nonce as unreadable', async () => {
    const answer = (status: number, body: unknown) =>
      createCloudClient({
        token: async () => TOKEN,
        fetch: async () => new Response(JSON.stringify(body), { status }),
      });
    const odd = await answer(400, { error: 'something new' }).unprotectPrepare('1', deviceId(1));
    expect(!odd.ok && odd.error.code).toBe('CLOUD_BAD_REQUEST');
    const empty = await answer(200, { ok: true }).unprotectPrepare('1', deviceId(1));
    expect(!empty.ok && empty.error.code).toBe('CLOUD_BAD_RESPONSE');
  });
});
