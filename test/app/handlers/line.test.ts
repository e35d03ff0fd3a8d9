import { afterEach, describe, expect, it } from 'vitest';
import { type AppService, createAppService } from '../../../core/app/service';
import { freshDatabase, pgSkip, withPgCluster } from '../../line-db/pg-cluster';
import { type SimLine, startSimLine } from '../line-fixture';

/*
 * The engineer's screen for the line database (core/app/handlers/line.ts): the variable the URL
 * is read from, the status, and the connection test, each failure a named error in words, the
 * password never in an answer.
 */

const cluster = withPgCluster();
let line: SimLine | undefined;
let app: AppService | undefined;
afterEach(async () => {
  await app?.dispose();
  await line?.close();
  app = undefined;
  line = undefined;
});

describe('line database methods without a database', () => {
  it('says it is not configured, names the variable, and refuses a URL where the name goes', async () => {
    line = await startSimLine(1);
    app = createAppService({ ...line.options, role: 'engineer' });
    const status = await app.invoke('line.status', {});
    expect(status.ok && status.value).toMatchObject({
      envName: 'LINESTATION_LINE_DB',
      configured: false,
      line: 'line database: not configured ($LINESTATION_LINE_DB is not set)',
    });
    const test = await app.invoke('line.test', {});
    expect(test.ok && test.value).toMatchObject({ ok: false, code: 'LINE_DB_NOT_CONFIGURED' });
    const url = await app.invoke('settings.update', { lineDbEnv: 'postgres://u:pw@h/db' });
    expect(url.ok).toBe(false);
    const named = await app.invoke('settings.update', { lineDbEnv: 'PLANT_LINE_DB' });
    expect(named.ok && named.value.lineDbEnv).toBe('PLANT_LINE_DB');
    const audit = await app.invoke('audit.list', {});
    expect(audit.ok && audit.value.some((a) => a.action === 'line-db-env')).toBe(true);
  });
});

describe.skipIf(pgSkip)('line database methods with a database', () => {
  it('tests the connection through the variable the settings name, and explains a refusal', async () => {
    line = await startSimLine(1);
    const url = await freshDatabase(cluster());
    const wrong = url.replace(`:${cluster().password}@`, ':wrong-password@');
    app = createAppService({
      ...line.options,
      env: { ...line.options.env, PLANT_LINE_DB: url, WRONG_LINE_DB: wrong },
      role: 'engineer',
    });
    await app.invoke('settings.update', { lineDbEnv: 'PLANT_LINE_DB' });
    const ok = await app.invoke('line.test', {});
    expect(ok.ok && ok.value.ok).toBe(true);
    expect(ok.ok && ok.value.message).toMatch(
      /^Connected to PostgreSQL 1\d\.\d+ at postgres:\/\/postgres:\*\*\*@/,
    );
    const configured = await app.invoke('line.status', {});
    expect(configured.ok && configured.value).toMatchObject({ configured: true, envName: 'PLANT_LINE_DB' });
    expect(configured.ok && configured.value.target).toContain(':***@');

    await app.invoke('settings.update', { lineDbEnv: 'WRONG_LINE_DB' });
    const refused = await app.invoke('line.test', {});
    expect(refused.ok && refused.value).toMatchObject({ ok: false, code: 'LINE_DB_AUTH_FAILED' });
    expect(JSON.stringify(refused)).not.toContain(cluster().password);
  });

  it('shows the forwarder while a batch runs, on the engineer screen and the station screen', async () => {
    line = await startSimLine(1);
    const url = await freshDatabase(cluster());
    app = createAppService({ ...line.options, env: { ...line.options.env, LINESTATION_LINE_DB: url } });
    const started = await app.invoke('batch.start', { lot: 'LOT-APP', operator: 'ana' });
    expect(started.ok).toBe(true);
    const svc = app;
    await expect
      .poll(async () => {
        const s = await svc.invoke('line.status', {});
        return s.ok ? s.value.line : '';
      })
      .toBe('line database: connected');
    const s = await svc.invoke('line.status', {});
    expect(s.ok && s.value.status?.stationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.ok && s.value.status?.state).toBe('connected');
    const state = await svc.invoke('station.state', {});
    expect(state.ok && state.value.lineDatabase).toBe('line database: connected');
    expect(state.ok && state.value.log.some((l) => l.text.startsWith('line database: connected'))).toBe(true);
  });
});
