export type { AppServiceOptions, Handler, HandlerContext, Handlers } from './context';
export { bindIpc, type IpcBindingOptions, type IpcMainLike } from './ipc-binding';
export { type AppEventListener, type AppService, createAppService } from './service';
export { type AppSession, createSession, mayCall } from './session';
