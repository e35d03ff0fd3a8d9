import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The main window's size and place, remembered between runs so a station screen reopens where
 * the line set it up (often full screen on a second monitor). Plain JSON beside the settings.
 */
export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
  fullScreen: boolean;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_WINDOW: WindowState = { width: 1600, height: 1000, maximized: false, fullScreen: false };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export const readWindowState = (file: string): WindowState => {
  try {
    const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof raw !== 'object' || raw === null) return DEFAULT_WINDOW;
    const r = raw as Record<string, unknown>;
    if (!isInt(r.width) || !isInt(r.height)) return DEFAULT_WINDOW;
    return {
      width: Math.max(800, r.width),
      height: Math.max(600, r.height),
      ...(isInt(r.x) && isInt(r.y) ? { x: r.x, y: r.y } : {}),
      maximized: r.maximized === true,
      fullScreen: r.fullScreen === true,
    };
  } catch {
    return DEFAULT_WINDOW;
  }
};

/**
 * Keeps a remembered position only if the window would still be visible on one of the displays
 * now attached (a monitor unplugged since must not leave the app off-screen).
 */
export const fitToDisplays = (state: WindowState, displays: readonly Rect[]): WindowState => {
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y } = state;
  const visible = displays.some(
    (d) => x + 100 > d.x && y + 50 > d.y && x < d.x + d.width - 100 && y < d.y + d.height - 50,
  );
  if (visible) return state;
  const { x: _x, y: _y, ...rest } = state;
  return rest;
};

export const writeWindowState = (file: string, state: WindowState): void => {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.partial`, JSON.stringify(state));
    renameSync(`${file}.partial`, file);
  } catch {
    // Losing the window position is not worth an error dialog at quit.
  }
};
