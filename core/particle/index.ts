/*
 * Particle-specific device control: USB control requests (DFU_MODE, RESET, GET_DEVICE_MODE,
 * GET_DEVICE_ID, MODULE_INFO, setup done, protection state, Service Mode, the identity requests),
 * moving devices into DFU mode and confirming their return, normal-mode firmware updates, and
 * listening-mode serial. Sees only the UsbTransport seam and the serialport package.
 */
export {
  type ControlErrorCode,
  type ControlReply,
  type ControlRequestOptions,
  controlRequest,
  deviceProtected,
  rawControlRequest,
  resultError,
} from './control-client';
export { RequestType, ResultCode, resultCodeName } from './control-protocol';
export { Deadline } from './deadline';
export {
  cancelUpdate,
  encodeDataRequest,
  encodeFinishRequest,
  encodeStartRequest,
  finishUpdate,
  MAX_DATA_CHUNK,
  type SendFirmwareOptions,
  type SentFirmware,
  sendData,
  sendFirmware,
  startUpdate,
  type UpdateRequestOptions,
} from './firmware-update';
export {
  type CellularIds,
  type DeviceIdentityInfo,
  getIccid,
  getSerialNumber,
  getSystemVersion,
  ICCID_TIMEOUT_MS,
  type IdentityErrorCode,
  type IdentityField,
  type IdentitySource,
  type ListeningFallback,
  type MissingCause,
  type MissingField,
  type ReadIdentityOptions,
  readIdentity,
} from './identity';
export {
  enterListeningMode,
  type ListeningOptions,
  type ListeningOutcome,
  stopListening,
} from './listening-mode';
export {
  type CommandOptions,
  type Identification,
  LISTENING_BAUD_RATE,
  type ListeningErrorCode,
  type ListeningModuleInfo,
  ListeningSerial,
  openListeningSerial,
  openSerialPortLink,
  type SerialLink,
  type SerialLinkOpener,
} from './listening-serial';
export {
  type Confirmed,
  type ConfirmOptions,
  confirmBackInNormalMode,
  type EnterDfuOptions,
  type EnterDfuVia,
  type EnteredDfu,
  enterDfuMode,
  type ModeSwitchContext,
} from './mode-switch';
export {
  type ExpectedModule,
  failedCheckNames,
  findModule,
  type HashCheck,
  type ModuleCheck,
  verifyInstalledModule,
} from './module-verify';
export {
  defaultUpdateTimeoutMs,
  type NormalModeImage,
  type NormalUpdateOptions,
  normalModeImage,
  updateModuleNormalMode,
  type VerifiedModule,
} from './normal-update';
export {
  getProtectedState,
  type ProtectionMode,
  type ProtectionState,
  parseSecurityModeString,
  protectedByLayout,
  readDfuProtection,
  SECURITY_MODE_STRING_INDEX,
} from './protection';
export {
  type DeviceAsset,
  type DeviceAssets,
  type DeviceModule,
  decodeAssetInfo,
  decodeModuleInfo,
  decodeReply,
  getAssetInfo,
  getDeviceId,
  getDeviceMode,
  getModuleInfo,
  type ModuleDependency,
  type ModuleFunction,
  type ReportedMode,
  requestDfuMode,
  requestReset,
} from './requests';
export {
  DFU_BAUD,
  LISTENING_BAUD,
  type SerialOpenBinding,
  type SerialTouch,
  serialTouch,
} from './serial-trick';
export {
  type CloudAnswer,
  type DeviceProof,
  type EnterServiceModeOptions,
  enterServiceMode,
  leaveServiceMode,
  SERVICE_MODE_LIMITS,
  type ServerProof,
  type ServiceModeCloud,
  type ServiceModeCloudError,
  type ServiceModeErrorCode,
  type ServiceModeOptions,
  type ServiceModeOutcome,
  type ServiceModeStep,
} from './service-mode';
export {
  clearServiceMode,
  confirmServiceMode,
  type DevicePrepared,
  decodePrepareReply,
  encodeSetProtectedState,
  PROTECTED_STATE_ACTION,
  prepareServiceMode,
  SERVICE_MODE_NONCE_SIZE,
  type SetProtectedStateErrorCode,
  type SetProtectedStateRequest,
  setProtectedStateError,
} from './set-protected-state';
export { isSetupDone, setSetupDone } from './setup-done';
export {
  isTransientUpdateError,
  type UpdateErrorCode,
  type UpdateErrorContext,
  type UpdateFormat,
  type UpdateStep,
  updateResultError,
} from './update-errors';
export {
  expectedPhaseMs,
  type NormalUpdateListener,
  type NormalUpdatePhase,
  type NormalUpdateProgress,
  UpdateProgress,
} from './update-progress';
export { type Reappeared, type WaitErrorCode, type WaitTarget, waitForDevice } from './wait-device';
