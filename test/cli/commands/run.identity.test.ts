import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../core/cli/main';
import { shipmentDay } from '../../../core/cloud/cloud-setup';
import { type MockCloud, startMockCloud } from '../../../core/cloud/mock-server';
import { buildLabelRecord } from '../../../core/labels/label-record';
import { renderZplImage } from '../../../core/labels/preview';
import { parseLabelTemplate } from '../../../core/labels/template-schema';
import { renderZpl, zplSymbolContents } from '../../../core/labels/zpl';
import { SimDevice, simCellularIds, simDeviceKeys } from '../../../core/sim/index';
import {
  DEMO_PRODUCT_ID,
  DEMO_TOKEN_ENV,
  type DemoProductOptions,
  writeDemoProduct,
} from '../../../core/station/demo-setup';
import { parseCsvLine } from '../../../core/store/export';
import { StationLog } from '../../../core/store/station-log';
import { decodeSymbol } from '../../labels/decode';
import { startFakeZplPrinter } from '../../labels/fake-zpl-printer';
import { symbolRegion } from '../../labels/helpers';
import { freshDatabase, pgSkip, withPgCluster } from '../../line-db/pg-cluster';
import { captureIo, runArgs } from '../../station/cli-harness';
import { addLabel, labelTemplate } from '../../station/label-rig';
import { tempDir } from '../../store/helpers';

/*
 * Identity and cloud setup through `linestation run --simulate` (core/cli/commands/run.ts),
 * in-process: simulated Borons report serial number, ICCID and IMEI at identify; the profile names
 * devices `{product}-{serial}`, adds notes and the shipment's date group, and imports each SIM;
 * a mock cloud on 127.0.0.1 knows every simulated device's SIM as Particle knows real ones.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

type Row = Record<string, string>;

const SETUP = { name: '{product}-{serial}', notes: 'lot {lot}, station {station}', dateGroup: true } as const;

const rig = async (product: Partial<DemoProductOptions> = {}) => {
  const dir = tempDir('ls-identity-');
  const cloud: MockCloud = await startMockCloud({
    host: '127.0.0.1',
    port: 0,
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13 }],
    simulatedDevices: {
      publicKeyFor: (id) => simDeviceKeys(id).publicKey,
      iccidFor: (id) => simCellularIds(id).iccid,
    },
  });
  closers.push(() => cloud.close());
  const setup = await writeDemoProduct(join(dir, 'product'), cloud.url, {
    slots: 4,
    bodySize: 8192,
    setup: SETUP,
    ...product,
  });
  if (!setup.ok) throw new Error(setup.error.message);
  cloud.addToken(setup.value.token);
  const dataDir = join(dir, 'data');
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const c = captureIo({ [DEMO_TOKEN_ENV]: setup.value.token, ...env });
    const code = await runCli(args, c.io);
    return { code, out: c.out, err: c.errs, text: c.out.join('\n') };
  };
  const exported = async (lot: string): Promise<Row[]> => {
    const csv = await cli(['export', lot, '--format', 'csv', '--data-dir', dataDir]);
    const [head = '', ...rows] = csv.text.trimEnd().split('\r\n');
    const header = parseCsvLine(head);
    return rows.map((line) => {
      const cells = parseCsvLine(line);
      return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
    });
  };
  const run = (lot: string, extra: string[], env: NodeJS.ProcessEnv = {}) =>
    cli(runArgs({ setup: setup.value, dataDir }, lot, extra), env);
  return {
    dir,
    dataDir,
    cloud,
    cli,
    run,
    exported,
    profilePath: setup.value.profilePath,
    env: { [DEMO_TOKEN_ENV]: setup.value.token },
  };
};

/** How many times each value occurs. */
const counts = (values: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
};

describe('linestation run: identity and cloud setup on a cellular line', () => {
  it('16 Borons: every identity column filled, each named, noted, grouped and its SIM imported exactly once', async () => {
    const r = await rig();
    const day = shipmentDay(new Date());
    const run = await r.run('LOT-ID16', ['--simulate', '16', '--stations-sharing-ip', '4']);
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(16);
    // The identified line names the serial number and the ICCID.
    expect(run.out.filter((l) => /try 1, serial S013LS\w{9}, ICCID 8988\d{16}$/.test(l))).toHaveLength(16);

    const rows = await r.exported('LOT-ID16');
    expect(rows).toHaveLength(16);
    for (const row of rows) {
      expect(row).toMatchObject({ result: 'pass', registration_state: 'registered', device_os: '6.2.1' });
      expect(row.serial_number).toMatch(/^S013LS\w{9}$/);
      expect(row.iccid).toBe(simCellularIds(row.device_id ?? '').iccid);
      expect(row.imei).toBe(simCellularIds(row.device_id ?? '').imei);
    }
    const ids = rows.map((x) => x.device_id ?? '');
    expect(new Set(ids).size).toBe(16);

    // The cloud: 16 devices, each named by its serial, noted, in the static and the date group.
    const devices = r.cloud.devices(DEMO_PRODUCT_ID);
    expect(devices.map((d) => d.id).sort()).toEqual([...ids].sort());
    const dateGroup = `${day}_0016`;
    for (const row of rows) {
      const d = devices.find((x) => x.id === row.device_id);
      expect(d).toMatchObject({
        name: `demo-widget-${row.serial_number}`,
        notes: 'lot LOT-ID16, station line-1',
      });
      expect(d?.groups).toEqual(expect.arrayContaining(['demo', dateGroup]));
    }
    expect(r.cloud.groups(DEMO_PRODUCT_ID)).toEqual(
      expect.arrayContaining([{ name: dateGroup, deviceCount: 16 }]),
    );
    // Each SIM imported once, with the ICCID the device reported.
    const sims = r.cloud.sims(DEMO_PRODUCT_ID);
    expect(sims.map((s) => s.deviceId).sort()).toEqual([...ids].sort());
    expect(sims.map((s) => s.iccid).sort()).toEqual(rows.map((x) => x.iccid).sort());

    // From the request log: each device imported by exactly one request, with its SIM, and
    // updated (name, notes) by exactly one PUT.
    const log = r.cloud.requests();
    const imports = log.filter(
      (q) => q.method === 'POST' && q.path === `/v1/products/${DEMO_PRODUCT_ID}/devices`,
    );
    expect([...counts(imports.flatMap((q) => q.imported ?? [])).values()]).toEqual(Array(16).fill(1));
    expect(counts(imports.flatMap((q) => q.imported ?? [])).size).toBe(16);
    for (const q of imports.filter((x) => (x.imported ?? []).length > 0))
      expect((q.body as { import_sims?: unknown }).import_sims).toBe(true);
    const updates = log.filter(
      (q) => q.method === 'PUT' && q.status === 200 && /\/devices\/[0-9a-f]{24}$/.test(q.path),
    );
    expect([...counts(updates.map((q) => q.path.slice(-24))).values()]).toEqual(Array(16).fill(1));

    // batch show --attempts lists what identify read.
    const show = await r.cli(['batch', 'show', 'LOT-ID16', '--attempts', '--data-dir', r.dataDir]);
    const first = rows[0] as Row;
    expect(show.text).toContain(
      `(registered) serial ${first.serial_number} ICCID ${first.iccid} IMEI ${first.imei} Device OS 6.2.1`,
    );
  });

  it('issue 14 done-when: 16 cellular devices with a label printer — 16 PASS, 16 labels whose decoded Data Matrix is the device’s serial, 16 named and grouped with SIMs, every identity column', async () => {
    const r = await rig();
    const printer = await startFakeZplPrinter();
    closers.push(() => printer.close());
    const label = labelTemplate(printer, { symbol: { type: 'datamatrix', content: 'serial' } });
    await addLabel(r.profilePath, label, r.env);
    const run = await r.run('LOT-DONE16', ['--simulate', '16']);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(16);

    const rows = await r.exported('LOT-DONE16');
    expect(rows).toHaveLength(16);
    for (const row of rows) {
      expect(row.serial_number).toMatch(/^S013LS\w{9}$/);
      expect(row.iccid).toMatch(/^8988\d{16}$/);
      expect(row.imei).toMatch(/^\d{15}$/);
      expect(row.device_os).toBe('6.2.1');
      expect(row.label_state).toBe('printed');
    }
    // Every printed label, drawn by an independent ZPL renderer and read by a Data Matrix
    // decoder, holds the serial of a device that passed: one label per device.
    const template = parseLabelTemplate(label);
    if (!template.ok) throw new Error(template.error.message);
    const decoded: string[] = [];
    for (const job of printer.jobs()) {
      const [symbol] = zplSymbolContents(job.zpl);
      const row = rows.find((x) => x.serial_number === symbol?.content);
      if (!row) throw new Error(`a label for no device: ${symbol?.content}`);
      const layout = renderZpl(
        template.value,
        buildLabelRecord({
          deviceId: row.device_id ?? '',
          serial: row.serial_number,
          iccid: row.iccid,
          productName: 'Demo widget',
          lot: 'LOT-DONE16',
          station: 'line-1',
          at: new Date(),
        }),
      );
      if (!layout.ok) throw new Error(layout.error.message);
      const image = await renderZplImage(job.zpl, template.value.size);
      if (!image.ok) throw new Error(image.error.message);
      decoded.push(decodeSymbol(image.value, 'datamatrix', symbolRegion(layout.value.layout)) ?? '');
    }
    expect(decoded.sort()).toEqual(rows.map((x) => x.serial_number).sort());

    // The cloud: 16 named by serial, in the date group, each SIM imported once.
    const devices = r.cloud.devices(DEMO_PRODUCT_ID);
    expect(devices).toHaveLength(16);
    for (const row of rows)
      expect(devices.find((d) => d.id === row.device_id)?.name).toBe(`demo-widget-${row.serial_number}`);
    expect(r.cloud.groups(DEMO_PRODUCT_ID)).toEqual(
      expect.arrayContaining([{ name: `${shipmentDay(new Date())}_0016`, deviceCount: 16 }]),
    );
    expect(
      r.cloud
        .sims(DEMO_PRODUCT_ID)
        .map((x) => x.iccid)
        .sort(),
    ).toEqual(rows.map((x) => x.iccid).sort());
  });

  it('a profile that requires the serial number: a device without one fails DEVICE_SERIAL_UNREADABLE and is set aside', async () => {
    const r = await rig({ identity: { requireSerial: true } });
    const run = await r.run('LOT-NOSERIAL', ['--simulate', '2', '--sim-faults', 'serial-unreadable=1']);
    expect(run.code).toBe(4);
    expect(run.text).toMatch(/FAIL at identify: Serial number cannot be read \(DEVICE_SERIAL_UNREADABLE\)/);
    expect(run.text).toMatch(/Simulated operator: 2 plugged, 0 re-seated, 2 set aside\./);
    const rows = await r.exported('LOT-NOSERIAL');
    expect(rows.map((x) => [x.result, x.error_code, x.serial_number])).toEqual([
      ['fail', 'DEVICE_SERIAL_UNREADABLE', ''],
      ['fail', 'DEVICE_SERIAL_UNREADABLE', ''],
    ]);
    expect(r.cloud.devices(DEMO_PRODUCT_ID)).toEqual([]);
  });

  it('an ICCID that cannot be read and is not required: PASS, the columns empty, the reason logged', async () => {
    const r = await rig();
    const run = await r.run('LOT-NOSIM', ['--simulate', '2', '--sim-faults', 'no-sim=1']);
    expect(run.code).toBe(0);
    const rows = await r.exported('LOT-NOSIM');
    expect(rows.map((x) => [x.result, x.iccid, x.imei, x.serial_number !== ''])).toEqual([
      ['pass', '', '', true],
      ['pass', '', '', true],
    ]);
    const { log } = StationLog.open(r.dataDir);
    try {
      const batch = log.requireBatch('LOT-NOSIM');
      const gaps = log.events(batch.id).filter((e) => e.type === 'identity-incomplete');
      expect(gaps).toHaveLength(2);
      expect(gaps[0]?.data).toMatchObject({
        missing: [
          { field: 'iccid', cause: 'no-sim', reason: expect.stringMatching(/no SIM/) },
          { field: 'imei', cause: 'no-sim' },
        ],
      });
    } finally {
      log.close();
    }
  });

  it('a SIM the cloud refuses: the device still passes, registration sim-failed in the export and the batch view', async () => {
    const r = await rig();
    // The simulated devices' IDs follow from the lot and their index, as `run --simulate` makes them.
    const refused = new SimDevice({ platform: 'boron', seed: 'LOT-SIMREF:0' }).deviceId;
    r.cloud.refuseSim(refused, 'it belongs to another account');
    const run = await r.run('LOT-SIMREF', ['--simulate', '2']);
    expect(run.code).toBe(0);
    expect(run.out.filter((l) => / PASS in /.test(l))).toHaveLength(2);
    const rows = await r.exported('LOT-SIMREF');
    expect(rows.map((x) => [x.device_id === refused, x.result, x.registration_state]).sort()).toEqual([
      [false, 'pass', 'registered'],
      [true, 'pass', 'sim-failed'],
    ]);
    // In the product, without its SIM; the other device has both.
    expect(r.cloud.devices(DEMO_PRODUCT_ID)).toHaveLength(2);
    expect(r.cloud.sims(DEMO_PRODUCT_ID).map((s) => s.deviceId)).not.toContain(refused);
    const show = await r.cli(['batch', 'show', 'LOT-SIMREF', '--attempts', '--data-dir', r.dataDir]);
    expect(show.out.filter((l) => l.includes(refused) && l.includes('(sim-failed)'))).toHaveLength(1);
  });
});

const cluster = withPgCluster();

describe.skipIf(pgSkip)('linestation run: identity forwarded to the line database', () => {
  it('the line database holds each attempt’s serial number, ICCID, IMEI and Device OS', async () => {
    const r = await rig();
    const url = await freshDatabase(cluster());
    const run = await r.run('LOT-LINE-ID', ['--simulate', '2'], { LINESTATION_LINE_DB: url });
    expect(run.code).toBe(0);
    const rows = await r.exported('LOT-LINE-ID');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const line = await client.query(
        'SELECT device_id, serial_number, iccid, imei, device_os FROM linestation.attempts ORDER BY attempt_id',
      );
      expect(line.rows).toEqual(
        rows.map((x) => ({
          device_id: x.device_id,
          serial_number: x.serial_number,
          iccid: x.iccid,
          imei: x.imei,
          device_os: '6.2.1',
        })),
      );
    } finally {
      await client.end();
    }
  });
});
