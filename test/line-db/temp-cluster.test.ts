import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startTempCluster } from '../../core/line-db/temp-cluster';
import { pgSkip } from './pg-cluster';

describe.skipIf(pgSkip)('a temporary PostgreSQL cluster', () => {
  it('starts on a loopback port with a password, keeps its data across a restart, and leaves nothing behind', async () => {
    const started = await startTempCluster({ database: 'tc' });
    if (!started.ok) throw new Error(started.error.message);
    const c = started.value;
    try {
      expect(c.url).toMatch(/^postgres:\/\/postgres:[0-9a-f]{24}@127\.0\.0\.1:\d+\/tc$/);
      await c.sql('CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)');
      // The password is required over TCP.
      await expect(c.sql('SELECT 1', [], 'postgres').then(() => 'ok')).resolves.toBe('ok');
      const pg = await import('pg');
      const wrong = new pg.default.Client({ connectionString: c.urlWith({ password: 'nope' }) });
      wrong.on('error', () => undefined);
      await expect(wrong.connect()).rejects.toMatchObject({ code: '28P01' });
      await c.stop('immediate');
      expect(c.running).toBe(false);
      await c.start();
      expect((await c.sql('SELECT x FROM kept')).rows).toEqual([{ x: 42 }]);
      expect((await c.sql("SELECT current_setting('synchronous_commit') AS s")).rows[0]?.s).toBe('on');
    } finally {
      await c.destroy();
    }
    expect(existsSync(c.dataDir)).toBe(false);
  });
});
