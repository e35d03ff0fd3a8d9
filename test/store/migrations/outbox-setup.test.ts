import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../core/store/database';
import { MIGRATIONS } from '../../../core/store/migrations/index';
import { outboxSetupMigration } from '../../../core/store/migrations/outbox-setup';
import { enqueueRegistration, listOutbox } from '../../../core/store/outbox';
import { deviceId, tempDir } from '../../cloud/helpers';

describe('migration outbox-2-cloud-setup', () => {
  it('keeps every row, its ID and the counter, puts the line feed triggers and the index back, and takes the new actions', () => {
    const tmp = tempDir();
    try {
      const file = `${tmp.dir}/station.sqlite`;
      const before = MIGRATIONS.slice(0, MIGRATIONS.indexOf(outboxSetupMigration));
      const old = openDatabase(file, before);
      const insert = old.prepare(`
        INSERT INTO outbox (product_id, device_id, action, payload, state, created_at, updated_at)
        VALUES ('7', ?, ?, ?, 'pending', 'x', 'x')`);
      insert.run(deviceId(1), 'import', '{}');
      insert.run(deviceId(1), 'settings', '{"groups":["a"]}');
      insert.run(deviceId(2), 'import', '{}');
      // A pruned row: the counter must not hand its ID out again.
      old.prepare('DELETE FROM outbox WHERE device_id = ?').run(deviceId(2));
      expect(() => insert.run(deviceId(3), 'update', '{}')).toThrow(/CHECK/);
      old.exec('UPDATE line_feed_state SET enabled = 1');
      const triggersBefore = old
        .prepare(
          `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%outbox%' ORDER BY name`,
        )
        .all();
      expect(triggersBefore.length).toBeGreaterThan(0);
      old.close();

      const db = openDatabase(file);
      expect(listOutbox(db).map((e) => [e.id, e.deviceId, e.action, e.settings])).toEqual([
        [1, deviceId(1), 'import', {}],
        [2, deviceId(1), 'settings', { groups: ['a'] }],
      ]);
      expect(
        db
          .prepare(
            `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%outbox%' ORDER BY name`,
          )
          .all(),
      ).toEqual(triggersBefore);
      expect(
        db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'outbox_due'`).get(),
      ).toBeDefined();
      const fed = (db.prepare('SELECT COUNT(*) AS n FROM line_feed').get() as { n: number }).n;
      enqueueRegistration(db, { productId: 7, deviceId: deviceId(3), name: 'n-3', importSims: true });
      const rows = listOutbox(db).filter((e) => e.deviceId === deviceId(3));
      expect(rows.map((e) => e.action)).toEqual(['import', 'sim', 'update']);
      expect(Math.min(...rows.map((e) => e.id))).toBe(4);
      // The line feed still hears of outbox changes.
      expect((db.prepare('SELECT COUNT(*) AS n FROM line_feed').get() as { n: number }).n).toBeGreaterThan(
        fed,
      );
      db.close();
    } finally {
      tmp.cleanup();
    }
  });
});
