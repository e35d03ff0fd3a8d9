/**
 * The transport seam. Everything above it (the DFU engine, Particle control requests, discovery)
 * sees only these interfaces, so the same code drives the real `usb@3` adapter, the in-process
 * simulated bus, and (in the USB rig) emulated devices behind a real kernel.
 *
 * It is deliberately narrow: descriptors are read with standard GET_DESCRIPTOR control requests
 * (see `descriptors.ts`) rather than through an adapter-specific API, so a simulated device must
 * answer them exactly as real firmware does.
 */

export interface UsbDeviceInfo {
  /** Stable for as long as the device stays attached; a re-enumeration yields a new key. */
  readonly key: string;
  /** Bus number and port chain, e.g. `1-2.3`: the identity of a physical slot. */
  readonly portPath: string;
  readonly vendorId: number;
  readonly productId: number;
  /** iSerialNumber as read at enumeration (Particle: the device ID). */
  readonly serialNumber: string | undefined;
  readonly manufacturer?: string | undefined;
  readonly product?: string | undefined;
}

export type ControlRequestType = 'standard' | 'class' | 'vendor';
export type ControlRecipient = 'device' | 'interface' | 'endpoint' | 'other';

export interface ControlSetup {
  readonly requestType: ControlRequestType;
  readonly recipient: ControlRecipient;
  readonly request: number;
  readonly value: number;
  readonly index: number;
}

export interface TransferOptions {
  /** Per-transfer timeout; a transfer that exceeds it fails with USB_TIMEOUT. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

/** Codes a transport raises (as LsFailure) so callers can tell a STALL from a pulled cable. */
export type UsbErrorCode =
  | 'USB_UNAVAILABLE'
  | 'USB_ACCESS_DENIED'
  | 'USB_BUSY'
  | 'USB_NOT_FOUND'
  | 'USB_STALL'
  | 'USB_TIMEOUT'
  | 'USB_DISCONNECTED'
  | 'USB_IO';

export interface UsbDeviceHandle {
  readonly info: UsbDeviceInfo;
  controlIn(setup: ControlSetup, length: number, options: TransferOptions): Promise<Uint8Array>;
  controlOut(setup: ControlSetup, data: Uint8Array | undefined, options: TransferOptions): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternate(interfaceNumber: number, alternateSetting: number): Promise<void>;
  close(): Promise<void>;
}

export type UsbEvent =
  | { readonly type: 'attach'; readonly device: UsbDeviceInfo }
  | { readonly type: 'detach'; readonly device: UsbDeviceInfo };

export interface UsbTransport {
  /** Rejects with USB_UNAVAILABLE where there is no USB bus; never crashes the process. */
  list(): Promise<UsbDeviceInfo[]>;
  /**
   * Subscribes to attach/detach. Returns an unsubscribe function. Transports without hot-plug
   * events may never call the listener; the watcher in core/usb rescans as a fallback.
   */
  watch(listener: (event: UsbEvent) => void): () => void;
  /** `signal` cuts short a transport's wait for a just-enumerated device to become openable. */
  open(
    device: UsbDeviceInfo,
    options?: { readonly signal?: AbortSignal | undefined },
  ): Promise<UsbDeviceHandle>;
}
