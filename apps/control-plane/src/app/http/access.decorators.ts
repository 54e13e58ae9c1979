import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { type Principal } from '@sandbox/domain';
import { type Request } from 'express';

export const PUBLIC_ROUTE = 'sandbox:public';
export const ADMIN_ROUTE = 'sandbox:admin';

/** Answers without a key (probes, API docs). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
/** Needs a key of the admin scope; any other key gets 403. */
export const AdminOnly = () => SetMetadata(ADMIN_ROUTE, true);

export interface AuthenticatedRequest extends Request {
  principal: Principal;
}

/** The principal the guard resolved from the request's key. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal);
