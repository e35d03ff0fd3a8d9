export type { AppServiceOptions, Handler, HandlerContext, Handlers } from './context';
export { type AppEventListener, type AppService, createAppService } from './service';
export { type AppSession, createSession, mayCall } from './session';
