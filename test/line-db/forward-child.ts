import { lineDbTargetFromEnv } from '../../core/line-db/config';
import { createForwarder } from '../../core/line-db/forwarder';
import { loadStationId } from '../../core/line-db/station-identity';
import { databasePath } from '../../core/store/data-dir';
import { openDatabase } from '../../core/store/database';

/*
 * A forwarder on its own, as a station process runs it: the kill test bundles this file, starts
 * it, and kills it with SIGKILL in the middle of its passes. Argument: the data folder; the URL
 * comes from LINESTATION_LINE_DB. Prints one JSON line per committed pass.
 */
const dataDir = process.argv[2] ?? '';
const target = lineDbTargetFromEnv(process.env);
const id = loadStationId(dataDir);
if (!target.ok || !target.value || !id.ok) {
  process.stderr.write('forward-child: LINESTATION_LINE_DB and a data folder are needed\n');
  process.exit(2);
}
const db = openDatabase(databasePath(dataDir));
const fwd = createForwarder({
  db,
  target: target.value,
  station: { id: id.value, name: 'K-9' },
  // Small passes, so a kill lands inside one far more often than between them.
  maxChanges: Number(process.env.LS_MAX_CHANGES ?? 40),
  idlePollMs: 5,
  backoff: { baseMs: 10, maxMs: 100 },
  onEvent: (e) => {
    if (e.type === 'forwarded') process.stdout.write(`${JSON.stringify({ upToSeq: e.upToSeq })}\n`);
  },
});
fwd.start();
