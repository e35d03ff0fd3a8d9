/*
 * The desktop shell: window, menu, lifecycle, single-instance lock, and one ipcMain handler per
 * contract method delegating to core/app (which validates every payload with the contract's
 * zod schemas and enforces roles). Nothing else lives here; everything testable is in core/.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, type IpcMainInvokeEvent, ipcMain, Menu, session } from 'electron';
import { bindIpc, createAppService } from '../core/app/index';
import { EVENT_CHANNEL } from '../core/contract/index';

declare const __LINESTATION_VERSION__: string | undefined;

const rendererIndex = join(__dirname, '..', 'dist-renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;

const argValue = (name: string): string | undefined => {
  const prefix = `--${name}=`;
  const hit = process.argv.find((a) => a.startsWith(prefix));
  return hit ? hit.slice(prefix.length) : undefined;
};

const profilePath = argValue('profile') ?? process.env.LINESTATION_PROFILE;
const service = createAppService({
  ...(profilePath ? { profilePath } : {}),
  version: typeof __LINESTATION_VERSION__ === 'string' ? __LINESTATION_VERSION__ : app.getVersion(),
});

let mainWindow: BrowserWindow | undefined;

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

const createWindow = (): void => {
  mainWindow = new BrowserWindow({
    width: 1600,
    height: 1000,
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
  mainWindow.once('ready-to-show', () => mainWindow?.show());
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
    ]),
  );
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
