/**
 * Simulated Particle devices and USB bus (demo/training mode, tests, benchmarks). Real code never
 * imports this folder; only the CLI when asked to simulate, the demo, tests and benchmarks do.
 */
export { portPaths, SimBus } from './bus';
export { now, sleepFor, sleepUntil } from './clock';
export {
  CTRL_REQUEST,
  encodeServiceReply,
  PARTICLE_BREQUEST,
  SERVICE,
  SERVICE_STATUS,
  SYSTEM_ERROR,
} from './control-service';
export {
  CDC_COMM_INTERFACE,
  CDC_DATA_INTERFACE,
  CONTROL_INTERFACE,
  dfuAttributes,
  dfuDescriptors,
  normalDescriptors,
  type SimDescriptors,
  STRING_DEVICE_STATE,
  STRING_FIRST_ALT,
} from './descriptors';
export { DFU_BAUD, LISTENING_BAUD, makeDeviceId, SimDevice } from './device';
export { type DeviceOsFeatures, deviceOsFeatures, versionAtLeast } from './device-os';
export {
  DFU_ATTR,
  DFU_REQUEST,
  DFU_STATE,
  DFU_STATUS,
  DFUSE_COMMAND,
  type DfuStatusName,
} from './dfu-constants';
export { UPDATE_CHUNK_SIZE, UPDATE_ERROR } from './firmware-update';
export {
  type FlashStatus,
  type ProgramCheck,
  parseLayout,
  SimFlash,
  type SimLayout,
  type SimSegment,
} from './flash';
export {
  type IccidFault,
  IDENTITY_ERROR,
  makeSerialNumber,
  type ResolvedIdentity,
  resolveIdentity,
  type SimIdentity,
  simCellularIds,
} from './identity';
export {
  deriveP256KeyPair,
  type KeyPair,
  PROTECTION_ERROR,
  publicKeyFingerprint,
  SERVICE_MODE_MS,
  SERVICE_MODE_RESETS,
  serverConfirmMessage,
  signServerConfirm,
  simCloudKeys,
  simDeviceKeys,
  verifyDevicePrepare,
} from './protection';
export {
  type BusyPolicy,
  NRF52840_TIMING,
  RTL872X_TIMING,
  STM32F2_TIMING,
  type TimingProfile,
  timingFor,
} from './timing';
export type {
  ControlResult,
  DeviceOsInfo,
  ProtectionState,
  SetupPacket,
  SimDeviceEvent,
  SimDeviceOptions,
  SimFaults,
  SimMode,
  SimModule,
  SimStats,
} from './types';
