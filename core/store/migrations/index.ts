import { stationLogV5Identity } from './identity';
import { labelsV1, labelsV2LineFeed } from './labels';
import { lineFeedV1, stationLogV3LineCheck } from './line-feed';
import { outboxMigration } from './outbox';
import { outboxSetupMigration } from './outbox-setup';
import { stationLogV1, stationLogV2, stationLogV4 } from './station-log';
import type { Migration } from './types';

/** Every schema step, in order. Append new steps at the end; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  stationLogV1,
  outboxMigration,
  stationLogV2,
  stationLogV3LineCheck,
  lineFeedV1,
  stationLogV4,
  labelsV1,
  outboxSetupMigration,
  labelsV2LineFeed,
  stationLogV5Identity,
];
