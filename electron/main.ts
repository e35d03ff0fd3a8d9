/*
 * The desktop shell: window, menu, lifecycle, single-instance lock, and one ipcMain handler per
 * contract method delegating to core/app (which validates every payload with the contract's
 * zod schemas and enforces roles). Nothing else lives here; everything testable is in core/.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  app,
  BrowserWindow,
  dialog,
  type IpcMainInvokeEvent,
  ipcMain,
  Menu,
  powerSaveBlocker,
  safeStorage,
  screen,
  session,
} from 'electron';
import { bindIpc, createAppService } from '../core/app/index';
import { EVENT_CHANNEL } from '../core/contract/index';
import { NodeUsbTransport } from '../core/usb/node-usb';
import { aboutText, loadLicenses } from './licenses';
import { batchPowerGuard } from './power';
import { safeStorageTokenStore } from './token-store';
import { DEFAULT_WINDOW, fitToDisplays, readWindowState, writeWindowState } from './window-state';

declare const __LINESTATION_VERSION__: string | undefined;

const rendererIndex = join(__dirname, '..', 'dist-renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;

const argValue = (name: string): string | undefined => {
  const prefix = `--${name}=`;
  const hit = process.argv.find((a) => a.startsWith(prefix));
  return hit ? hit.slice(prefix.length) : undefined;
};

const profilePath = argValue('profile') ?? process.env.LINESTATION_PROFILE;
const version = typeof __LINESTATION_VERSION__ === 'string' ? __LINESTATION_VERSION__ : app.getVersion();
const userData = (): string => app.getPath('userData');
let mainWindow: BrowserWindow | undefined;

const service = createAppService({
  ...(profilePath ? { profilePath } : {}),
  version,
  // The real USB bus; the station log and settings live in the same data folder the CLI uses.
  transport: new NodeUsbTransport(),
  tokenStore: safeStorageTokenStore(safeStorage, join(userData(), 'particle-token.bin')),
  chooseOpenPaths: async (kind, multiple) => {
    const options = {
      properties: multiple ? (['openFile', 'multiSelections'] as const) : (['openFile'] as const),
      filters:
        kind === 'firmware'
          ? [{ name: 'Particle firmware', extensions: ['bin', 'dfu', 'zip'] }]
          : [{ name: 'Product profile', extensions: ['json'] }],
    };
    const r = mainWindow
      ? await dialog.showOpenDialog(mainWindow, { ...options, properties: [...options.properties] })
      : await dialog.showOpenDialog({ ...options, properties: [...options.properties] });
    return r.canceled ? [] : r.filePaths;
  },
  chooseSavePath: async (suggestedName) => {
    const options = { defaultPath: join(app.getPath('documents'), suggestedName) };
    const r = mainWindow
      ? await dialog.showSaveDialog(mainWindow, options)
      : await dialog.showSaveDialog(options);
    return r.canceled ? undefined : r.filePath;
  },
});

// No sleep while a batch runs (station.changed carries `running`).
const power = batchPowerGuard(powerSaveBlocker);
service.on((event, payload) => {
  if (event === 'station.changed') power.update((payload as { running: boolean }).running);
});

/** Only our own page may call the core: not a frame, not a page navigated elsewhere. */
const fromOurPage = (event: IpcMainInvokeEvent): boolean => {
  const frame = event.senderFrame;
  // Top frame only (parent null): an iframe, even one of our own files, gets no core access.
  return frame !== null && frame.parent === null && frame.url.split('#')[0] === rendererUrl;
};

const registerIpc = (): void => {
  bindIpc(ipcMain, service, {
    isTrustedSender: fromOurPage,
    sendEvent: (message) => {
      if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(EVENT_CHANNEL, message);
    },
  });
};

const lockDownSession = (): void => {
  const ses = session.defaultSession;
  // No remote content at all: the page is local files, and the core does the networking.
  ses.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_d, cb) =>
    cb({ cancel: true }),
  );
  ses.setPermissionRequestHandler((_wc, _permission, cb) => cb(false));
  ses.setPermissionCheckHandler(() => false);
};

const windowStateFile = (): string => join(userData(), 'window-state.json');

const createWindow = (): void => {
  const remembered = fitToDisplays(
    readWindowState(windowStateFile()),
    screen.getAllDisplays().map((d) => d.workArea),
  );
  mainWindow = new BrowserWindow({
    width: remembered.width || DEFAULT_WINDOW.width,
    height: remembered.height || DEFAULT_WINDOW.height,
    ...(remembered.x !== undefined && remembered.y !== undefined ? { x: remembered.x, y: remembered.y } : {}),
    minWidth: 1024,
    minHeight: 700,
    title: 'linestation',
    backgroundColor: '#eef0f3',
    show: false,
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  mainWindow.once('ready-to-show', () => {
    if (remembered.maximized) mainWindow?.maximize();
    if (remembered.fullScreen) mainWindow?.setFullScreen(true);
    mainWindow?.show();
  });
  const win = mainWindow;
  // Remember the normal (not maximized) bounds, so un-maximizing next time restores them.
  win.on('close', () => {
    writeWindowState(windowStateFile(), {
      ...win.getNormalBounds(),
      maximized: win.isMaximized(),
      fullScreen: win.isFullScreen(),
    });
  });
  mainWindow.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  mainWindow.webContents.on('will-navigate', (e, url) => {
    if (url.split('#')[0] !== rendererUrl) e.preventDefault();
  });
  mainWindow.webContents.on('will-attach-webview', (e) => e.preventDefault());
  mainWindow.on('closed', () => {
    mainWindow = undefined;
  });
  void mainWindow.loadFile(rendererIndex);
};

const buildMenu = (): void => {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      { role: 'fileMenu' },
      { role: 'editMenu' },
      {
        label: 'View',
        submenu: [
          { role: 'reload' },
          { role: 'forceReload' },
          ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
          { type: 'separator' },
          { role: 'resetZoom' },
          { role: 'zoomIn' },
          { role: 'zoomOut' },
          { type: 'separator' },
          { role: 'togglefullscreen' },
        ],
      },
      { role: 'windowMenu' },
      {
        role: 'help',
        submenu: [{ label: 'About linestation', click: () => void showAbout() }],
      },
    ]),
  );
};

const showAbout = async (): Promise<void> => {
  const licenses = loadLicenses(join(__dirname, 'licenses.json'), app.getAppPath());
  const options = {
    type: 'info' as const,
    title: 'About linestation',
    message: `linestation ${version}`,
    detail: aboutText(version, licenses),
    buttons: ['OK'],
  };
  if (mainWindow) await dialog.showMessageBox(mainWindow, options);
  else await dialog.showMessageBox(options);
};

// A running batch is stopped cleanly (left resumable) before the process goes.
let quitting = false;
const quitCleanly = (e: { preventDefault(): void }): void => {
  if (quitting) return;
  quitting = true;
  e.preventDefault();
  power.update(false);
  void service.dispose().finally(() => app.quit());
};

// One station app per machine: two would fight over the same USB devices and database.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.enableSandbox();
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  app.on('before-quit', quitCleanly);
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  void app.whenReady().then(() => {
    lockDownSession();
    registerIpc();
    buildMenu();
    createWindow();
  });
}
