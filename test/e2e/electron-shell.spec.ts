import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from '@playwright/test';
import { invokeChannel } from '../../core/contract/bridge';
import { METHOD_NAMES } from '../../core/contract/methods';

/*
 * Electron cannot start here (no binary can be downloaded), so these tests load the real
 * esbuild bundles, dist-electron/main.cjs and preload.cjs, in Node with a stand-in `electron`
 * module that records what the shell asks of it: security settings, IPC handlers, navigation
 * guards. The stand-in lives only in this file; nothing else a test loads imports electron.
 */

const root = process.cwd();
const mainBundle = join(root, 'dist-electron', 'main.cjs');
const preloadBundle = join(root, 'dist-electron', 'preload.cjs');
const rendererUrl = pathToFileURL(join(root, 'dist-renderer', 'index.html')).href;

type Fn = (...args: unknown[]) => unknown;
type ModuleWithLoad = typeof Module & {
  _load: (request: string, parent: unknown, isMain: boolean) => unknown;
};

/** Loads a CommonJS bundle fresh, answering `require('electron')` with `fake`. */
const loadWithFakeElectron = (bundle: string, fake: unknown): void => {
  const mod = Module as ModuleWithLoad;
  const original = mod._load;
  mod._load = function (this: unknown, request: string, parent: unknown, isMain: boolean) {
    if (request === 'electron') return fake;
    return original.call(this, request, parent, isMain);
  };
  try {
    const req = createRequire(import.meta.url);
    delete req.cache[bundle];
    req(bundle);
  } finally {
    mod._load = original;
  }
};

const fakeMainElectron = (opts: { gotLock: boolean }) => {
  const rec = {
    handlers: new Map<string, Fn>(),
    windows: [] as {
      options: { webPreferences: Record<string, unknown> };
      loaded?: string;
      handlers: Map<string, Fn>;
    }[],
    appEvents: new Map<string, Fn>(),
    quit: 0,
    sandboxEnabled: false,
    blockedFilter: undefined as undefined | { urls: string[] },
    blocker: undefined as undefined | Fn,
    permission: undefined as undefined | Fn,
    menu: undefined as unknown,
    userData: mkdtempSync(join(tmpdir(), 'ls-electron-')),
    power: [] as string[],
  };
  class BrowserWindow {
    static getAllWindows = () => rec.windows;
    readonly entry: (typeof rec.windows)[number];
    readonly webContents: Record<string, Fn>;
    constructor(options: { webPreferences: Record<string, unknown> }) {
      this.entry = { options, handlers: new Map() };
      rec.windows.push(this.entry);
      this.webContents = {
        setWindowOpenHandler: (h) => this.entry.handlers.set('window-open', h as Fn),
        on: (ev, h) => this.entry.handlers.set(String(ev), h as Fn),
        send: () => {},
      };
    }
    once() {}
    on(ev: string, h: Fn) {
      this.entry.handlers.set(`window:${ev}`, h);
    }
    maximize() {}
    setFullScreen() {}
    isMaximized = () => false;
    isFullScreen = () => false;
    getNormalBounds = () => ({ x: 10, y: 20, width: 1280, height: 900 });
    isDestroyed = () => false;
    loadFile = async (path: string) => {
      this.entry.loaded = path;
    };
  }
  const fake = {
    app: {
      requestSingleInstanceLock: () => opts.gotLock,
      quit: () => {
        rec.quit++;
      },
      enableSandbox: () => {
        rec.sandboxEnabled = true;
      },
      on: (ev: string, h: Fn) => rec.appEvents.set(ev, h),
      whenReady: () => Promise.resolve(),
      isPackaged: false,
      getVersion: () => '0.0.0-test',
      getPath: () => rec.userData,
      getAppPath: () => root,
    },
    dialog: {
      showSaveDialog: async () => ({ canceled: true }),
      showMessageBox: async () => ({ response: 0 }),
    },
    powerSaveBlocker: {
      start: (type: string) => {
        rec.power.push(`start:${type}`);
        return 1;
      },
      stop: () => rec.power.push('stop'),
      isStarted: () => false,
    },
    safeStorage: {
      isEncryptionAvailable: () => false,
      encryptString: (s: string) => Buffer.from(s),
      decryptString: (b: Buffer) => b.toString(),
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, h: Fn) => rec.handlers.set(channel, h),
      removeHandler: (channel: string) => rec.handlers.delete(channel),
    },
    Menu: {
      buildFromTemplate: (t: unknown) => t,
      setApplicationMenu: (m: unknown) => {
        rec.menu = m;
      },
    },
    session: {
      defaultSession: {
        webRequest: {
          onBeforeRequest: (filter: { urls: string[] }, h: Fn) => {
            rec.blockedFilter = filter;
            rec.blocker = h;
          },
        },
        setPermissionRequestHandler: (h: Fn) => {
          rec.permission = h;
        },
        setPermissionCheckHandler: () => {},
      },
    },
  };
  return { fake, rec };
};

test.beforeAll(async () => {
  const { buildElectron } = (await import(
    pathToFileURL(join(root, 'scripts', 'build-electron.mjs')).href
  )) as {
    buildElectron: () => Promise<void>;
  };
  await buildElectron();
  expect(existsSync(mainBundle) && existsSync(preloadBundle)).toBe(true);
});

test.describe('electron/main bundle', () => {
  test('opens one locked-down window on the built renderer and binds every contract method', async () => {
    const { fake, rec } = fakeMainElectron({ gotLock: true });
    loadWithFakeElectron(mainBundle, fake);
    await new Promise((r) => setTimeout(r, 50));

    expect(rec.sandboxEnabled).toBe(true);
    expect(rec.windows).toHaveLength(1);
    const win = rec.windows[0];
    expect(win?.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
    });
    expect(String(win?.options.webPreferences.preload)).toBe(preloadBundle);
    // The window remembers its place: closing writes the state the next start reads.
    win?.handlers.get('window:close')?.();
    expect(JSON.parse(readFileSync(join(rec.userData, 'window-state.json'), 'utf8'))).toMatchObject({
      x: 10,
      y: 20,
      width: 1280,
      height: 900,
      maximized: false,
    });
    // The menu ends with Help > About linestation.
    const menu = rec.menu as { role?: string; submenu?: { label?: string }[] }[];
    expect(menu.at(-1)?.role).toBe('help');
    expect(menu.at(-1)?.submenu?.[0]?.label).toBe('About linestation');
    expect(win?.loaded).toBe(join(root, 'dist-renderer', 'index.html'));
    expect(rec.menu).toBeDefined();

    expect([...rec.handlers.keys()].sort()).toEqual(METHOD_NAMES.map(invokeChannel).sort());
    const frame = { url: rendererUrl, parent: null };
    const session = rec.handlers.get(invokeChannel('session.get'));
    expect(await session?.({ senderFrame: frame, sender: { mainFrame: frame } }, {})).toMatchObject({
      ok: true,
      value: { role: 'operator', engineerUnlockAvailable: true },
    });
    const foreign = { url: 'https://example.invalid/', parent: null };
    expect(await session?.({ senderFrame: foreign, sender: { mainFrame: foreign } }, {})).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const subframe = { url: rendererUrl };
    expect(await session?.({ senderFrame: subframe, sender: { mainFrame: frame } }, {})).toMatchObject({
      ok: false,
    });

    // No remote content: every http(s)/ws(s) request is cancelled, every permission denied.
    expect(rec.blockedFilter?.urls).toEqual(expect.arrayContaining(['http://*/*', 'https://*/*']));
    let cancelled: unknown;
    rec.blocker?.({ url: 'https://cdn.invalid/x.js' }, (r: unknown) => {
      cancelled = r;
    });
    expect(cancelled).toEqual({ cancel: true });
    let granted: unknown;
    rec.permission?.({}, 'media', (g: boolean) => {
      granted = g;
    });
    expect(granted).toBe(false);

    // Navigation away from our page and new windows are refused.
    let prevented = false;
    win?.handlers.get('will-navigate')?.(
      { preventDefault: () => (prevented = true) },
      'https://example.invalid/',
    );
    expect(prevented).toBe(true);
    expect(win?.handlers.get('window-open')?.({ url: 'https://example.invalid/' })).toEqual({
      action: 'deny',
    });
  });

  test('a second instance quits without opening a window', async () => {
    const { fake, rec } = fakeMainElectron({ gotLock: false });
    loadWithFakeElectron(mainBundle, fake);
    await new Promise((r) => setTimeout(r, 50));
    expect(rec.quit).toBe(1);
    expect(rec.windows).toHaveLength(0);
    expect(rec.handlers.size).toBe(0);
  });
});

test.describe('electron/preload bundle', () => {
  const loadPreload = (invoke: (channel: string, request: unknown) => Promise<unknown>) => {
    const exposed = new Map<string, unknown>();
    const listeners = new Map<string, Fn>();
    loadWithFakeElectron(preloadBundle, {
      contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.set(name, api) },
      ipcRenderer: {
        invoke,
        on: (channel: string, h: Fn) => listeners.set(channel, h),
        removeListener: (channel: string) => listeners.delete(channel),
      },
    });
    return { exposed, listeners };
  };

  test('exposes window.linestation: invoke per method channel, errors as envelopes, filtered events', async () => {
    const seen: string[] = [];
    const { exposed, listeners } = loadPreload(async (channel) => {
      seen.push(channel);
      if (channel.endsWith('profile.lock')) throw new Error('handler crashed');
      return { ok: true, value: 'fine' };
    });
    expect([...exposed.keys()]).toEqual(['linestation']);
    const bridge = exposed.get('linestation') as {
      invoke: (m: string, r: unknown) => Promise<unknown>;
      on: (e: string, l: (p: unknown) => void) => () => void;
    };
    expect(await bridge.invoke('session.get', {})).toEqual({ ok: true, value: 'fine' });
    expect(seen).toEqual([invokeChannel('session.get')]);
    expect(await bridge.invoke('profile.lock', {})).toMatchObject({
      ok: false,
      error: { code: 'IPC_FAILED' },
    });

    const got: unknown[] = [];
    const off = bridge.on('profile.changed', (p) => got.push(p));
    const deliver = [...listeners.values()][0];
    deliver?.({}, { event: 'something.else', payload: 1 });
    deliver?.({}, { event: 'profile.changed', payload: 2 });
    expect(got).toEqual([2]);
    off();
    expect(listeners.size).toBe(0);
  });
});

test.describe('scripts/start-electron.mjs', () => {
  test('without an Electron binary it says so in one sentence and exits non-zero', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ls-no-electron-'));
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: empty };
    delete env.ELECTRON_PATH;
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'start-electron.mjs')], {
      env,
      encoding: 'utf8',
    });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^linestation: ELECTRON_UNAVAILABLE: the Electron binary is not installed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
