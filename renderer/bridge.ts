import type { Envelope, LinestationBridge } from '../core/contract/index';

declare global {
  interface Window {
    /** Set by electron/preload.ts, or by the e2e test bridge. */
    linestation?: LinestationBridge;
  }
}

export const getBridge = (): LinestationBridge | undefined => window.linestation;

/** Unwraps an envelope or throws its error (the caller shows it). */
export class BridgeError extends Error {
  readonly code: string;
  readonly remedy: string | undefined;
  constructor(error: { code: string; message: string; remedy?: string | undefined }) {
    super(error.message);
    this.code = error.code;
    this.remedy = error.remedy;
  }
}

export const unwrap = <T>(envelope: Envelope<T>): T => {
  if (envelope.ok) return envelope.value;
  throw new BridgeError(envelope.error);
};

/** An error as one line for the screen: the message, then the remedy when the core gave one. */
export const errorText = (e: unknown): string =>
  e instanceof BridgeError
    ? `${e.message}${e.remedy ? ` ${e.remedy}` : ''}`
    : e instanceof Error
      ? e.message
      : String(e);
