import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { redisOptions } from '@sandbox/queue';
import { type Response } from 'express';
import { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import { CONTROL_PLANE_CONFIG, type ControlPlaneConfig } from '../control-plane-config';
import { ApiError } from '../http/api-error';
import { type AuthenticatedRequest, PUBLIC_ROUTE } from './access.decorators';

/**
 * Requests per API key and window, counted in Redis so every control plane shares the count.
 * Answers carry `RateLimit-Limit/Remaining/Reset`; over the limit 429 with `Retry-After`. When Redis
 * does not answer the request goes through (fail open, as E2B does): the queue refuses work anyway.
 */
@Injectable()
export class RateLimitGuard implements CanActivate, OnModuleDestroy {
  private readonly redis: Redis;
  private readonly limiter: RLWrapperTimeouts;

  constructor(
    @Inject(CONTROL_PLANE_CONFIG) private readonly config: ControlPlaneConfig,
    private readonly reflector: Reflector,
    @InjectPinoLogger(RateLimitGuard.name) private readonly log: PinoLogger,
  ) {
    this.redis = new Redis(redisOptions(config.REDIS_URL, 'producer'));
    this.redis.on('error', () => undefined);
    // a hung Redis must not hold the request: past the timeout the count is skipped
    this.limiter = new RLWrapperTimeouts({
      timeoutMs: 250,
      limiter: new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix: `${config.QUEUE_PREFIX}:ratelimit`,
        points: config.RATE_LIMIT_REQUESTS,
        duration: config.RATE_LIMIT_WINDOW_SECONDS,
        rejectIfRedisNotReady: true,
      }),
    });
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.config.RATE_LIMIT_REQUESTS || this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [ctx.getHandler(), ctx.getClass()])) return true;
    const http = ctx.switchToHttp();
    const { principal } = http.getRequest<AuthenticatedRequest>();
    const res = http.getResponse<Response>();
    let state: RateLimiterRes;
    try {
      state = await this.limiter.consume(principal.keyId);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) {
        this.log.warn({ err: e }, 'rate limit not checked: Redis did not answer');
        return true;
      }
      const headers = { ...this.headers(e), 'Retry-After': String(Math.max(1, Math.ceil(e.msBeforeNext / 1000))) };
      throw new ApiError(
        429,
        'rate_limited',
        `this API key made more than ${this.config.RATE_LIMIT_REQUESTS} requests in ${this.config.RATE_LIMIT_WINDOW_SECONDS} s; retry after ${headers['Retry-After']} s`,
        [],
        headers,
      );
    }
    for (const [name, value] of Object.entries(this.headers(state))) res.setHeader(name, value);
    return true;
  }

  onModuleDestroy(): void {
    this.redis.disconnect();
  }

  private headers(state: RateLimiterRes): Record<string, string> {
    return {
      'RateLimit-Limit': String(this.config.RATE_LIMIT_REQUESTS),
      'RateLimit-Remaining': String(Math.max(0, state.remainingPoints)),
      'RateLimit-Reset': String(Math.ceil(state.msBeforeNext / 1000)),
    };
  }
}
