import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TokenStore } from '../core/app/token-store';
import { fail } from '../core/errors/result';

/** The part of Electron's safeStorage we use (an interface, so it is tested without Electron). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/**
 * The Particle token, encrypted by the OS keychain (safeStorage: DPAPI on Windows, Keychain on
 * macOS, libsecret/kwallet on Linux) and kept in a file in the app's data folder. Where the OS
 * offers no encryption the token is refused, never written in the clear.
 */
export const safeStorageTokenStore = (safeStorage: SafeStorageLike, file: string): TokenStore => ({
  storage: 'OS keychain (Electron safeStorage)',
  get: async () => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      return undefined;
    }
    try {
      return safeStorage.decryptString(data) || undefined;
    } catch {
      // Encrypted under another OS user or keyring: as good as no token; the engineer sets it again.
      return undefined;
    }
  },
  set: async (token) => {
    if (!safeStorage.isEncryptionAvailable())
      fail('TOKEN_STORE_UNAVAILABLE', 'This computer offers no keychain to encrypt the token with.', {
        remedy:
          'On Linux, run a keyring (gnome-keyring or kwallet), or give the token through the environment variable the profile names.',
      });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(`${file}.partial`, safeStorage.encryptString(token), { mode: 0o600 });
    renameSync(`${file}.partial`, file);
  },
});
