// Labels: the template in the profile, rendering (ZPL, PNG, PDF), the printers (ZPL over TCP,
// CUPS, files), the durable label queue with its print loop, and the scan-back check.
export { type CupsOptions, type CupsPrintReceipt, cupsQueueStatus, printCups } from './cups-printer';
export {
  isTransientLabelError,
  LABEL_ERROR_CODES,
  LABEL_ERRORS,
  type LabelError,
  type LabelErrorCode,
  type LabelErrorInfo,
} from './errors';
export { labelFileName, writeLabelFile } from './file-printer';
export { type HostStatus, parseHostStatus, readiness } from './host-status';
export {
  type AttemptLabelState,
  attemptLabelState,
  dueLabelJobs,
  type EnqueueLabel,
  enqueueLabel,
  type LabelCounts,
  type LabelJob,
  type LabelJobKind,
  type LabelJobState,
  type LabelVerification,
  labelCounts,
  listLabelJobs,
  onLabelQueued,
  type ReprintRequest,
  rearmLabelJobs,
  requestReprint,
  settleLabelJob,
} from './job-store';
export {
  buildLabelRecord,
  type LabelRecord,
  type LabelRecordInput,
  labelDate,
  SAMPLE_LABEL_RECORD,
  symbolContent,
} from './label-record';
export { type LabelLayout, layoutLabel } from './layout';
export { renderLabelPdf } from './pdf';
export { renderLabelPng } from './png';
export { type LabelPreview, previewLabel, renderZplImage } from './preview';
export {
  createLabelLoop,
  DEFAULT_LABEL_BACKOFF,
  type LabelLoop,
  type LabelLoopEvent,
  type LabelLoopOptions,
} from './print-loop';
export { type LabelPrinter, labelPrinter, type PrintErrorCode, type PrintReceipt } from './printer';
export {
  type AwaitingScan,
  checkScannedLabel,
  labelsAwaitingScan,
  normalizeScan,
  recordLabelVerification,
  type ScanOutcome,
  verifyScannedLabel,
} from './scan-back';
export {
  LABEL_FIELDS,
  type LabelTemplate,
  type LabelTemplateInput,
  labelTemplateSchema,
  type PrinterTarget,
  parseLabelTemplate,
  printerTargetSchema,
  SYMBOL_CONTENT_FIELDS,
  SYMBOLOGIES,
} from './template-schema';
export { type PrinterCheck, targetName, testLabelPrinter } from './test-printer';
export { renderZpl, zplSymbolContents } from './zpl';
export { printZpl, queryZplStatus, type ZplPrintReceipt } from './zpl-printer';
