import {
  type ArgumentsHost,
  BadGatewayException,
  Body,
  type CallHandler,
  Catch,
  Controller,
  type ExceptionFilter,
  HttpCode,
  Injectable,
  type NestInterceptor,
  NotFoundException,
  Post,
  RequestTimeoutException,
  Res,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Observable, TimeoutError, catchError, map, retry, throwError, timeout } from 'rxjs';
import { Endpoint, TrackLlm } from '../../src/index.js';

/** Fails every answer of the handler with a 502 after the handler ran. */
@Injectable()
class FailAfterHandlerInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map(() => {
        throw new BadGatewayException('upstream answer rejected');
      }),
    );
  }
}

/** Calls the handler again when it fails, once. */
@Injectable()
class RetryOnceInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(retry(1));
  }
}

/** NestJS's documented `TimeoutInterceptor`, with a 50 ms limit. */
@Injectable()
class TimeoutInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      timeout(50),
      catchError((err: unknown) => throwError(() => (err instanceof TimeoutError ? new RequestTimeoutException() : err))),
    );
  }
}

/** An Express response or a Fastify reply: their common `status()`. */
interface StatusReply {
  status(code: number): unknown;
}

/** Answers a 404 of the handler as a 503, in its own words. */
@Catch(NotFoundException)
class UnavailableFilter implements ExceptionFilter {
  catch(_err: NotFoundException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse | { raw: ServerResponse }>();
    const raw = 'raw' in response ? response.raw : response;
    raw.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"engine unavailable"}');
  }
}

/** Answers a 404 of the handler with a 200 whose body tells the error, as some OpenAI proxies do. */
@Catch(NotFoundException)
class ErrorAsOkFilter implements ExceptionFilter {
  catch(_err: NotFoundException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<ServerResponse | { raw: ServerResponse }>();
    const raw = 'raw' in response ? response.raw : response;
    raw.writeHead(200, { 'content-type': 'application/json' }).end('{"error":"model not found"}');
  }
}

/** One route per case of the counting rules (docs/counting.md). */
@Controller('rules')
export class CountingRulesController {
  private readonly attempts = new Map<string, number>();

  @Post('interceptor-throws')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseInterceptors(FailAfterHandlerInterceptor)
  interceptorThrows(@Body() body: { model: string }) {
    return { model: body.model };
  }

  /** Fails its first call for each `id`. */
  @Post('retried')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseInterceptors(RetryOnceInterceptor)
  retried(@Body() body: { model: string; id: string }) {
    const attempt = (this.attempts.get(body.id) ?? 0) + 1;
    this.attempts.set(body.id, attempt);
    if (attempt === 1) {
      throw new Error('engine hiccup');
    }
    return { model: body.model, attempt };
  }

  @Post('timeout')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseInterceptors(TimeoutInterceptor)
  never(): Promise<never> {
    return new Promise<never>(() => undefined);
  }

  @Post('unserializable')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  unserializable() {
    return { tokens: 1n };
  }

  @Post('passthrough-503')
  @TrackLlm(Endpoint.ChatCompletions)
  passthrough(@Res({ passthrough: true }) reply: StatusReply) {
    reply.status(503);
    return { error: 'overloaded' };
  }

  @Post('filter-503')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseFilters(UnavailableFilter)
  filteredToUnavailable(): never {
    throw new NotFoundException('no such model');
  }

  @Post('filter-200')
  @TrackLlm(Endpoint.ChatCompletions)
  @UseFilters(ErrorAsOkFilter)
  filteredToOk(): never {
    throw new NotFoundException('no such model');
  }

  /** Sends its head, then fails: Nest can only end the response it started. */
  @Post('fails-after-head')
  @TrackLlm(Endpoint.ChatCompletions)
  async failsAfterHead(@Res() reply: ServerResponse | { raw: ServerResponse }): Promise<void> {
    const raw = 'raw' in reply ? reply.raw : reply;
    raw.writeHead(200, { 'content-type': 'text/event-stream' });
    raw.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw new Error('engine failed mid-stream');
  }
}
