import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Lets a request through only with `Authorization: Bearer <token>`: how the
 * sample keeps `/metrics` for Prometheus (`authorization: { credentials: <token> }`
 * in its scrape config). The comparison takes the same time whatever the guess.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0) {
      throw new Error('MetricsTokenGuard needs a non-empty token');
    }
    this.expected = digest(`Bearer ${token}`);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers.authorization;
    return typeof header === 'string' && timingSafeEqual(digest(header), this.expected);
  }
}
