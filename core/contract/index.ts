export type { LinestationBridge } from './bridge';
export { EVENT_CHANNEL, invokeChannel } from './bridge';
export type { Envelope, ErrorPayload, MethodSpec, Role } from './define';
export { errorSchema, method, ROLES } from './define';
export type { EventName, EventPayload, Events } from './events';
export { EVENT_NAMES, EVENTS, isEventName } from './events';
export type { MethodName, Methods, ParsedRequestOf, RequestOf, ResponseOf } from './methods';
export { isMethodName, METHOD_NAMES, METHODS } from './methods';
export * from './views';
