import { Body, Controller, type DynamicModule, HttpCode, Module, Post, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Endpoint,
  type FinishReason,
  type LlmMetricsModuleOptions,
  LlmMetricsModule,
  type LlmRequestMetrics,
  RequestMetrics,
  type TokenUsage,
  type ToolCallOutcome,
  TrackLlm,
} from '../../src/index.js';

/** What the echo routes read from the body besides `model`, `stream` and `tools` (which the metrics read). */
interface EchoRequest {
  /** `/echo/stream`: the body's bytes as they go out, one write each (split anywhere). */
  chunks?: string[];
  /** `/echo/stream`: pause before each chunk, in ms. */
  delayMs?: number;
  /** `/echo/unary`: the answer, sent as JSON. */
  answer?: unknown;
  /** `/echo/reported`: what the handler reports through `@RequestMetrics()`. */
  report?: {
    finishReason?: FinishReason | string;
    toolCalls?: Array<ToolCallOutcome | { name: string; arguments: unknown }>;
    usage?: TokenUsage;
  };
}

/** Answers whatever the test sends, so it can try any answer shape on the metrics: hostile ones too. */
@Controller('echo')
class AnswerEchoController {
  @Post('stream')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  stream(@Body() body: EchoRequest): StreamableFile {
    const { chunks = [], delayMs = 0 } = body;
    const writes = async function* () {
      for (const chunk of chunks) {
        if (delayMs > 0) {
          await sleep(delayMs);
        }
        yield Buffer.from(chunk);
      }
    };
    return new StreamableFile(Readable.from(writes()), { type: 'text/event-stream' });
  }

  @Post('unary')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  unary(@Body() body: EchoRequest): unknown {
    return body.answer;
  }

  @Post('reported')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  reported(@Body() body: EchoRequest, @RequestMetrics() metrics: LlmRequestMetrics): { ok: true } {
    const { finishReason, toolCalls = [], usage } = body.report ?? {};
    if (usage !== undefined) {
      metrics.recordUsage(usage);
    }
    for (const call of toolCalls) {
      metrics.recordToolCall(call);
    }
    if (finishReason !== undefined) {
      metrics.recordFinishReason(finishReason);
    }
    return { ok: true };
  }
}

/** The echo routes with the metrics module: `AnswerEchoAppModule.register(options)`. */
@Module({})
export class AnswerEchoAppModule {
  static register(options: LlmMetricsModuleOptions = {}): DynamicModule {
    return { module: AnswerEchoAppModule, imports: [LlmMetricsModule.forRoot(options)], controllers: [AnswerEchoController] };
  }
}
