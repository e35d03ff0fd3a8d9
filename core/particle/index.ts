/*
 * Particle-specific device control: USB control requests (DFU_MODE, RESET, GET_DEVICE_MODE,
 * GET_DEVICE_ID, MODULE_INFO), moving devices into DFU mode and confirming their return, and
 * listening-mode serial. Sees only the UsbTransport seam and the serialport package.
 */
export {
  type ControlErrorCode,
  type ControlReply,
  type ControlRequestOptions,
  controlRequest,
  rawControlRequest,
  resultError,
} from './control-client';
export { RequestType, ResultCode, resultCodeName } from './control-protocol';
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
  type DeviceModule,
  decodeModuleInfo,
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
export { type Reappeared, type WaitErrorCode, type WaitTarget, waitForDevice } from './wait-device';
