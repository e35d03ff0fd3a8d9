import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppServiceOptions } from '../../core/app/context';
import { type AppService, createAppService as create } from '../../core/app/service';
import type { Role } from '../../core/contract/define';

/**
 * createAppService with a fresh temporary data folder unless the test names one: the service
 * writes audit entries and settings there, and a test must never touch the user's real folder.
 */
export const createAppService = (options: AppServiceOptions & { role?: Role } = {}): AppService =>
  create({ dataDir: mkdtempSync(join(tmpdir(), 'ls-app-')), ...options });
