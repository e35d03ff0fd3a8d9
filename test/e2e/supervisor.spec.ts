import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { runCli } from '../../core/cli/main';
import { lineDbTargetFromEnv } from '../../core/line-db/config';
import { startTempCluster, type TempCluster, tempClusterUnavailable } from '../../core/line-db/temp-cluster';
import { type Supervisor, startSupervisor } from '../../core/supervisor/server';
import type { UnitHistoryView } from '../../core/supervisor/types';
import { captureIo, cliRig, runArgs } from '../station/cli-harness';
import { tempDir } from '../store/helpers';

/*
 * The supervisor's page in real Chromium against a real PostgreSQL and real stations: two
 * `linestation run --simulate` stations forward a lot; the page shows them and the line's
 * numbers, follows the second station live, looks a unit up, reloads its state when the
 * server drops its event stream, and says so while the line database is down.
 */

const unavailable = tempClusterUnavailable();
let cluster: TempCluster | undefined;
let rig: Awaited<ReturnType<typeof cliRig>> | undefined;
let sup: Supervisor | undefined;

test.beforeAll(async () => {
  if (unavailable) return;
  const started = await startTempCluster();
  if (!started.ok) throw new Error(started.error.message);
  cluster = started.value;
  rig = await cliRig({ slots: 2 });
});
test.afterAll(async () => {
  await sup?.close();
  await rig?.cloud.close();
  await cluster?.destroy();
});

const station = async (name: string, devices: number) => {
  const r = rig as NonNullable<typeof rig>;
  const args = runArgs({ setup: r.setup, dataDir: join(tempDir(`ls-sup-${name}-`), 'data') }, 'LOT-SUP', [
    '--simulate',
    String(devices),
  ]).map((a) => (a === 'line-1' ? name : a));
  const c = captureIo({ ...r.env, LINESTATION_LINE_DB: (cluster as TempCluster).url });
  return runCli(args, c.io);
};

test('the supervisor page shows the stations and totals, follows a station live, looks a unit up and reloads after a dropped stream', async ({
  page,
}) => {
  test.skip(unavailable !== undefined, `no PostgreSQL here: ${unavailable}`);
  expect(await station('A-1', 3)).toBe(0);
  const target = lineDbTargetFromEnv({ LINESTATION_LINE_DB: (cluster as TempCluster).url });
  if (!target.ok || !target.value) throw new Error('no target');
  const started = await startSupervisor({
    target: target.value,
    pageDir: join(process.cwd(), 'dist-renderer'),
    debounceMs: 50,
  });
  if (!started.ok) throw new Error(started.error.message);
  sup = started.value;

  await page.goto(sup.url);
  await expect(page.getByTestId('live-state')).toHaveText('● live');
  await expect(page.getByTestId('station-card')).toHaveCount(1);
  await expect(page.locator('[data-station="A-1"] [data-testid="station-state"]')).toContainText('LOT-SUP');
  await expect(page.getByTestId('total-attempts')).toHaveText('3');
  await expect(page.getByTestId('total-yield')).toHaveText('100.0%');
  await expect(page.getByTestId('total-fpy')).toHaveText('100.0%');
  await expect(page.locator('[data-testid="group-row"][data-key="A-1"]')).toBeVisible();

  // Live: a second station works the same lot; the three devices A passed are skipped there and
  // a fourth passes. The page follows without a reload.
  const loads = await page.getByTestId('supervisor').getAttribute('data-loads');
  expect(await station('B-3', 4)).toBe(5);
  await expect(page.getByTestId('station-card')).toHaveCount(2);
  await expect(page.getByTestId('total-attempts')).toHaveText('7');
  await expect(page.getByTestId('total-units')).toHaveText('4');
  await expect(page.locator('[data-testid="group-row"][data-key="B-3"]')).toBeVisible();
  expect(await page.getByTestId('supervisor').getAttribute('data-loads')).toBe(loads);

  await page.getByTestId('tab-lot').click();
  await expect(page.locator('[data-testid="group-row"][data-key="LOT-SUP"]')).toBeVisible();
  await page.locator('[data-testid="group-row"][data-key="LOT-SUP"]').click();
  await expect(page.getByTestId('export-lot')).toHaveAttribute('href', '/api/attempts.csv?lot=LOT-SUP');

  // A unit's whole history: passed at A-1, skipped at B-3 as already provisioned.
  const csv = await (await fetch(new URL('/api/attempts.csv', sup.url))).text();
  const deviceId = csv.split('\r\n')[1]?.split(',')[2] ?? '';
  const unit = (await (await fetch(new URL(`/api/unit/${deviceId}`, sup.url))).json()) as UnitHistoryView;
  expect(unit.attempts.map((a) => [a.station, a.result])).toEqual([
    ['A-1', 'pass'],
    ['B-3', 'skipped'],
  ]);
  await page.getByTestId('unit-input').fill(deviceId);
  await page.getByTestId('unit-input').press('Enter');
  await expect(page.getByTestId('unit-attempt')).toHaveCount(2);
  await expect(page.getByTestId('unit-summary')).toContainText(deviceId);
  await expect(page.getByTestId('unit-attempt').nth(1)).toContainText('SKIPPED');

  const shot = test.info().outputPath('supervisor.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(join(process.cwd(), 'docs', 'screenshots'), { recursive: true });
    copyFileSync(shot, join(process.cwd(), 'docs', 'screenshots', 'supervisor.png'));
  }

  // The server drops the event stream: the page reconnects and loads its state again.
  const before = Number(await page.getByTestId('supervisor').getAttribute('data-loads'));
  sup.dropClients();
  await expect
    .poll(async () => Number(await page.getByTestId('supervisor').getAttribute('data-loads')))
    .toBeGreaterThan(before);
  await expect(page.getByTestId('live-state')).toHaveText('● live');
  await expect(page.getByTestId('total-attempts')).toHaveText('7');

  // The line database goes down: the page says its numbers are from before then, and clears it
  // once the server hears the database again.
  const c = cluster as TempCluster;
  await c.stop('immediate');
  await expect(page.getByTestId('database-lost')).toContainText('LINE_DB_');
  await expect(page.getByTestId('total-attempts')).toHaveText('7');
  await c.start();
  await expect(page.getByTestId('database-lost')).toBeHidden({ timeout: 30_000 });
  await expect(page.getByTestId('total-attempts')).toHaveText('7');
});
