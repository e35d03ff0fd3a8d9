import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { operatorError } from '../../core/station/operator-errors';
import { writeExport } from '../../core/store/export';
import { StationLog } from '../../core/store/station-log';
import { type SimLine, startSimLine } from '../app/line-fixture';
import { expect, test } from './fixtures/bridge';

/*
 * The operator's whole path in real Chromium against the real core: simulated devices on a
 * SimBus, registration to the mock Particle Cloud on 127.0.0.1, the station log in SQLite.
 * Everything is driven from the keyboard, as a scanner and a gloved operator would.
 */

let line: SimLine | undefined;
test.afterEach(async () => {
  await line?.close();
  line = undefined;
});

test('an operator scans a lot, 8 devices run (2 faulty), the screen shows 6 PASS and 2 FAIL, and the CSV export matches the store', async ({
  page,
  openStation,
}, testInfo) => {
  line = await startSimLine(8);
  const sim = line;
  const exportPath = join(mkdtempSync(join(tmpdir(), 'ls-export-')), 'LOT-E2E-1.csv');
  await openStation({ ...sim.options, chooseSavePath: async () => exportPath });

  await expect(page.getByTestId('mode-badge')).toHaveText('FLASH ON LINE');
  await expect(page.getByTestId('station-product')).toHaveText('Demo Widget');

  // The operator types a name, then the scanner types the lot and Enter: no click anywhere.
  await page.getByTestId('operator-input').focus();
  await page.keyboard.type('ana');
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByTestId('scan-input')).toBeFocused();
  await page.keyboard.type('LOT-E2E-1');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('stat-lot')).toHaveText('LOT-E2E-1');
  await expect(page.getByTestId('stat-operator')).toHaveText('ana');
  await expect(page.getByTestId('slot-grid').locator('.slot')).toHaveCount(8);

  // A label scanned now goes with the next PASS.
  await page.keyboard.type('SN-42-0001');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('pending-labels')).toContainText('SN-42-0001');

  const ports = sim.ports;
  // First wave, fast: the two faulty devices and three good ones.
  sim.bus.plug(sim.verifyFault('bad-verify'), ports[0] ?? '');
  sim.bus.plug(sim.wrongPlatform('bad-platform'), ports[1] ?? '');
  for (let i = 2; i < 5; i++) sim.bus.plug(sim.device(`good-${i}`), ports[i] ?? '');
  await expect(page.locator('.slot[data-state="passed"], .slot[data-state="failed"]')).toHaveCount(5, {
    timeout: 60_000,
  });
  // Second wave with slow flash writes (quick reboots), so the screenshot catches slots mid-flash.
  for (let i = 5; i < 8; i++)
    sim.bus.plug(
      sim.device(`slow-${i}`, {
        timeScale: 1,
        timing: { reenumerateMs: 150, programMsPerWord: 0.4 + i / 10 },
      }),
      ports[i] ?? '',
    );
  await expect(page.locator('.slot[data-state="running"] progress')).toHaveCount(3, { timeout: 30_000 });
  await expect(
    page
      .getByTestId('slot-step')
      // The slot names the module it writes and its path: "widget-app (DFU) 42%".
      .filter({ hasText: /\(DFU\) [1-7]\d%/ })
      .first(),
  ).toBeVisible({
    timeout: 60_000,
  });
  const shot = testInfo.outputPath('station.png');
  await page.screenshot({ path: shot, fullPage: true });
  // The README's screenshot is refreshed on request only, so a test run leaves the checkout clean.
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(process.cwd(), 'docs', 'screenshots'), { recursive: true });
    copyFileSync(shot, join(process.cwd(), 'docs', 'screenshots', 'station.png'));
  }

  await expect(page.locator('.slot[data-state="passed"]')).toHaveCount(6, { timeout: 90_000 });
  await expect(page.locator('.slot[data-state="failed"]')).toHaveCount(2);
  await expect(page.getByTestId('stat-passed')).toHaveText('6');
  await expect(page.getByTestId('stat-failed')).toHaveText('2');
  await expect(page.getByTestId('stat-total')).toHaveText('8');
  await expect(page.getByTestId('stat-yield')).toHaveText('75.0%');

  const reasons = page.locator('.slot[data-state="failed"]').getByTestId('slot-reason');
  await expect(reasons.filter({ hasText: operatorError('DFU_VERIFY_MISMATCH').title })).toHaveCount(1);
  await expect(reasons.filter({ hasText: operatorError('WRONG_PLATFORM').title })).toHaveCount(1);
  await expect(reasons.filter({ hasText: operatorError('WRONG_PLATFORM').remedy })).toHaveCount(1);
  await expect(
    page.locator('.slot[data-state="passed"]').filter({ hasText: 'Label SN-42-0001' }),
  ).toHaveCount(1);
  await expect(page.getByTestId('event-log')).toContainText('PASS, label SN-42-0001');

  // Reports: F3, the batch is listed, Export CSV writes through the core's exporter.
  await page.keyboard.press('F3');
  await expect(page.getByTestId('batch-row').first()).toContainText('LOT-E2E-1');
  await expect(page.getByTestId('detail-counts')).toHaveText('6 / 8');
  await expect(page.getByTestId('attempt-row')).toHaveCount(8);
  await page.getByTestId('export-csv').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('export-result')).toHaveText(`Exported 8 attempt(s) to ${exportPath}.`);

  const csv = readFileSync(exportPath, 'utf8');
  const { log } = StationLog.open(sim.options.dataDir ?? '');
  try {
    let expected = '';
    writeExport(log, log.requireBatch('LOT-E2E-1'), 'csv', (c) => {
      expected += c;
    });
    expect(csv).toBe(expected);
    const attempts = log.attempts(log.requireBatch('LOT-E2E-1').id);
    expect(attempts.filter((a) => a.result === 'pass')).toHaveLength(6);
    expect(
      attempts
        .filter((a) => a.result === 'fail')
        .map((a) => a.errorCode)
        .sort(),
    ).toEqual(['DFU_VERIFY_MISMATCH', 'WRONG_PLATFORM']);
    expect(attempts.filter((a) => a.labelSerial === 'SN-42-0001')).toHaveLength(1);
  } finally {
    log.close();
  }
  const rows = csv.trim().split('\r\n');
  expect(rows).toHaveLength(9);
  expect(sim.cloud.devices(4242).length).toBeGreaterThanOrEqual(6);
});

test('engineer screens are refused without the PIN and work with it, keyboard only', async ({
  page,
  openStation,
}) => {
  line = await startSimLine(2);
  await openStation(line.options);

  // The contract refuses engineer calls from an operator page, whatever the UI shows.
  const refused = await page.evaluate(() =>
    (
      window as unknown as { linestation: { invoke: (m: string, r: unknown) => Promise<unknown> } }
    ).linestation.invoke('settings.get', {}),
  );
  expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

  await expect(page.getByTestId('role')).toHaveText('Operator');
  await page.keyboard.press('F4');
  await expect(page.getByTestId('pin-gate')).toContainText('Set up the engineer PIN');
  await expect(page.getByTestId('engineer')).toHaveCount(0);
  await page.getByTestId('pin-input').focus();
  await page.keyboard.type('2468');
  await page.keyboard.press('Tab');
  await page.keyboard.type('2468');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('engineer')).toBeVisible();
  await expect(page.getByTestId('role')).toHaveText('Engineer');

  // Station settings: name and a slot label, saved through the core.
  await page.getByTestId('station-name').fill('line-9');
  await page.getByTestId('save-station').click();
  await expect(page.getByText('Saved.', { exact: true })).toBeVisible();

  await page.getByTestId('engineer-lock').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('pin-gate')).toContainText('Engineer mode is locked');
  await expect(page.getByTestId('role')).toHaveText('Operator');

  await page.getByTestId('pin-input').focus();
  await page.keyboard.type('1111');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('pin-error')).toContainText('That PIN is not right');
  await page.keyboard.type('2468');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('engineer')).toBeVisible();
  await expect(page.getByTestId('audit-table')).toContainText('engineer-unlock-refused');
  await expect(page.getByTestId('audit-table')).toContainText('settings.update');
});
