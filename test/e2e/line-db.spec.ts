import { startTempCluster, type TempCluster, tempClusterUnavailable } from '../../core/line-db/temp-cluster';
import { type SimLine, startSimLine } from '../app/line-fixture';
import { expect, test } from './fixtures/bridge';

/*
 * The engineer's line-database panel in real Chromium: the variable the URL is read from, the
 * connection test with a named error in words (the password never shown), and the station screen's
 * status line while a batch forwards. A temporary PostgreSQL cluster stands in for the line's.
 */

const unavailable = tempClusterUnavailable();
let cluster: TempCluster | undefined;
let line: SimLine | undefined;
test.beforeAll(async () => {
  if (unavailable) return;
  const started = await startTempCluster();
  if (!started.ok) throw new Error(started.error.message);
  cluster = started.value;
});
test.afterAll(async () => {
  await cluster?.destroy();
});
test.afterEach(async () => {
  await line?.close();
  line = undefined;
});

test('an engineer points the station at the line database and tests it; the station screen shows it forwarding', async ({
  page,
  openStation,
}) => {
  test.skip(unavailable !== undefined, `no PostgreSQL here: ${unavailable}`);
  const c = cluster as TempCluster;
  line = await startSimLine(2);
  const wrong = c.urlWith({ password: 'not-the-password' });
  await openStation({
    ...line.options,
    env: { ...line.options.env, PLANT_LINE_DB: c.url, OLD_LINE_DB: wrong },
    role: 'engineer',
  });
  // The page is up (and listens for its keys) once it shows who is at the station.
  await expect(page.getByTestId('role')).toHaveText('Engineer');
  await page.keyboard.press('F4');
  const panel = page.getByTestId('line-db-panel');
  await expect(panel).toBeVisible();
  await expect(page.getByTestId('line-db-line')).toHaveText(
    'line database: not configured ($LINESTATION_LINE_DB is not set)',
  );
  await page.getByTestId('line-db-test').click();
  await expect(page.getByTestId('line-db-result')).toContainText('LINE_DB_NOT_CONFIGURED');

  // A variable whose URL has a wrong password: a named error, in words, without the password.
  await page.getByTestId('line-db-env').fill('OLD_LINE_DB');
  await panel.getByRole('button', { name: 'Save variable name' }).click();
  await page.getByTestId('line-db-test').click();
  await expect(page.getByTestId('line-db-result')).toContainText('LINE_DB_AUTH_FAILED');
  await expect(page.getByTestId('line-db-result')).toHaveAttribute('data-ok', 'false');
  await expect(page.getByTestId('line-db-target')).toContainText(':***@');
  expect(await page.content()).not.toContain('not-the-password');

  await page.getByTestId('line-db-env').fill('PLANT_LINE_DB');
  await panel.getByRole('button', { name: 'Save variable name' }).click();
  await page.getByTestId('line-db-test').click();
  await expect(page.getByTestId('line-db-result')).toContainText('Connected to PostgreSQL');
  await expect(page.getByTestId('line-db-result')).toHaveAttribute('data-ok', 'true');

  // A batch forwards while it runs; the station screen's header carries the status line.
  await page.keyboard.press('F2');
  await page.getByTestId('operator-input').fill('ana');
  await page.getByTestId('scan-input').fill('LOT-LINE-E2E');
  await page.getByTestId('scan-input').press('Enter');
  await expect(page.getByTestId('stat-lot')).toHaveText('LOT-LINE-E2E');
  await expect(page.getByTestId('station-line-db')).toHaveText('line database: connected');
  expect(await page.content()).not.toContain(c.password);
});
