import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpException,
  type MessageEvent,
  Param,
  ParseIntPipe,
  Post,
  Query,
  RequestMethod,
  Res,
  Sse,
  StreamableFile,
} from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, interval, map, of, take } from 'rxjs';
import { Endpoint, type ErrorType, type LlmRequestMetrics, RequestMetrics, TrackLlm } from '../../src/index.js';

/** What the fixture routes read from the body besides `model` and `stream`. */
export interface ShapeRequest {
  model?: unknown;
  stream?: unknown;
  /** Number of chunks a streaming route sends. */
  chunks?: number;
  /** Delay before each chunk, in ms. */
  delayMs?: number;
  /** A streaming route fails after this many chunks. */
  failAfter?: number;
  /** Sent as OpenAI `usage`: in a last chunk before `[DONE]` (streams), or in the answer (unary). */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** `@RequestMetrics()` routes: the error type to mark in-band. */
  markError?: ErrorType;
}

/** An Express `Response` or a Fastify `FastifyReply`: the fixture writes to the Node.js response under either. */
type AnyReply = ServerResponse | { raw: ServerResponse };

function rawOf(reply: AnyReply): ServerResponse {
  return 'raw' in reply ? reply.raw : reply;
}

function sendJson(reply: AnyReply, status: number, body: unknown): void {
  rawOf(reply).writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function sseLine(index: number): string {
  return `data: ${JSON.stringify({ choices: [{ delta: { content: `t${index}` } }] })}\n\n`;
}

async function* sseLines(request: ShapeRequest): AsyncGenerator<string> {
  const chunks = request.chunks ?? 3;
  for (let i = 0; i < chunks; i++) {
    if (request.failAfter !== undefined && i >= request.failAfter) {
      throw new Error('engine failed mid-stream');
    }
    await sleep(request.delayMs ?? 0);
    yield sseLine(i);
  }
  if (request.usage) {
    yield `data: ${JSON.stringify({ choices: [], usage: request.usage })}\n\n`;
  }
  yield 'data: [DONE]\n\n';
}

/** Every response shape a tracked route can have, one route each. */
@Controller('shapes')
export class ResponseShapesController {
  @Post('value')
  @HttpCode(200)
  @TrackLlm(Endpoint.Completions)
  value(@Body() body: ShapeRequest) {
    return { model: body.model, text: 'hello', usage: body.usage };
  }

  @Post('promise')
  @HttpCode(200)
  @TrackLlm(Endpoint.Completions)
  async promise(@Body() body: ShapeRequest) {
    await sleep(body.delayMs ?? 1);
    return { model: body.model, text: 'hello' };
  }

  @Post('observable')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  observable(@Body() body: ShapeRequest): Observable<unknown> {
    return body.delayMs
      ? interval(body.delayMs).pipe(
          take(1),
          map(() => ({ text: 'late' })),
        )
      : of({ text: 'hello' });
  }

  @Post('status/:code')
  @TrackLlm(Endpoint.ChatCompletions)
  async status(@Param('code', ParseIntPipe) code: number): Promise<never> {
    await sleep(1);
    throw new HttpException({ error: { message: `failing with ${code}` } }, code);
  }

  @Post('crash')
  @TrackLlm(Endpoint.ChatCompletions)
  crash(): never {
    throw new Error('handler crashed');
  }

  @Post('observable-error')
  @TrackLlm(Endpoint.ChatCompletions)
  observableError(): Observable<never> {
    return new Observable((subscriber) => subscriber.error(new HttpException('overloaded', 429)));
  }

  @Post('readable')
  @TrackLlm(Endpoint.Completions)
  readable(@Body() body: ShapeRequest): Readable {
    return Readable.from(sseLines(body));
  }

  @Post('streamable-file')
  @TrackLlm(Endpoint.Completions)
  streamableFile(@Body() body: ShapeRequest): StreamableFile {
    return new StreamableFile(Readable.from(sseLines(body)), { type: 'text/event-stream' });
  }

  @Post('async-generator')
  @TrackLlm(Endpoint.Completions)
  asyncGenerator(@Body() body: ShapeRequest): AsyncGenerator<string> {
    return sseLines(body);
  }

  @Sse('sse')
  @TrackLlm(Endpoint.ChatCompletions)
  sseGet(@Query('chunks') chunks = '3', @Query('delayMs') delayMs = '0'): Observable<MessageEvent> {
    return interval(Number(delayMs)).pipe(
      take(Number(chunks)),
      map((i) => ({ data: { choices: [{ delta: { content: `t${i}` } }] } })),
    );
  }

  @Sse('sse-post', { method: RequestMethod.POST })
  @TrackLlm(Endpoint.ChatCompletions)
  ssePost(@Body() body: ShapeRequest): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      let sent = 0;
      const timer = setInterval(() => {
        if (body.failAfter !== undefined && sent >= body.failAfter) {
          subscriber.error(new Error('engine failed mid-stream'));
          return;
        }
        if (sent >= (body.chunks ?? 3)) {
          if (body.usage) {
            subscriber.next({ data: { choices: [], usage: body.usage } });
          }
          subscriber.next({ data: '[DONE]' });
          subscriber.complete();
          return;
        }
        subscriber.next({ data: { choices: [{ delta: { content: `t${sent++}` } }] } });
      }, body.delayMs ?? 1);
      return () => clearInterval(timer);
    });
  }

  /** The OpenAI style: one POST route answering JSON or SSE written by hand. */
  @Post('res')
  @TrackLlm(Endpoint.ChatCompletions)
  async handWritten(@Body() body: ShapeRequest, @Res() reply: AnyReply): Promise<void> {
    if (body.stream !== true) {
      sendJson(reply, 200, { text: 'hello', usage: body.usage });
      return;
    }
    const res = rawOf(reply);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => (closed = true));
    for await (const line of sseLines(body)) {
      if (closed) {
        return;
      }
      res.write(line);
    }
    res.end();
  }

  /** `@Res()` SSE whose chunks carry two tokens each, reported by the handler; an in-band error on request. */
  @Post('res-reported')
  @TrackLlm(Endpoint.ChatCompletions)
  async reported(@Body() body: ShapeRequest, @Res() reply: AnyReply, @RequestMetrics() metrics: LlmRequestMetrics): Promise<void> {
    const res = rawOf(reply);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (let i = 0; i < (body.chunks ?? 3); i++) {
      await sleep(body.delayMs ?? 0);
      metrics.recordTokens(2);
      res.write(sseLine(i));
    }
    if (body.markError) {
      metrics.markError(body.markError);
      res.write('data: {"error":{"message":"engine overloaded"}}\n\n');
    }
    metrics.recordUsage({ prompt_tokens: 11 });
    res.end('data: [DONE]\n\n');
  }

  /** `@RequestMetrics()` on a route that is not tracked: a handle that does nothing. */
  @Post('untracked-reported')
  @HttpCode(200)
  untrackedReported(@RequestMetrics() metrics: LlmRequestMetrics) {
    metrics.recordTokens(3);
    metrics.markError();
    return { tracked: metrics.tracked, model: metrics.model ?? null };
  }

  /** `@Res()` answering an error status itself. */
  @Post('res-status/:code')
  @TrackLlm(Endpoint.ChatCompletions)
  handWrittenStatus(@Param('code', ParseIntPipe) code: number, @Res() reply: AnyReply): void {
    sendJson(reply, code, { error: { message: `answered ${code}` } });
  }

  /** `@Res()` that returns before it writes: the response, not the handler, ends the request. */
  @Post('res-detached')
  @TrackLlm(Endpoint.ChatCompletions)
  handWrittenDetached(@Body() body: ShapeRequest, @Res() reply: AnyReply): void {
    setTimeout(() => sendJson(reply, 200, { text: 'later' }), body.delayMs ?? 50);
  }

  /** `@Res({ passthrough: true })`: Nest still sends the returned value. */
  @Post('res-passthrough')
  @HttpCode(200)
  @TrackLlm(Endpoint.Completions)
  passthrough(@Res({ passthrough: true }) reply: { header(name: string, value: string): unknown }) {
    reply.header('x-passthrough', 'yes');
    return { text: 'hello' };
  }

  /** A custom endpoint name. */
  @Post('rerank')
  @HttpCode(200)
  @TrackLlm('rerank')
  rerank(@Body() body: ShapeRequest) {
    return { model: body.model, results: [] };
  }

  @Get('untracked')
  untracked() {
    return { ok: true };
  }
}
