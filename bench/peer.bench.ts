import {
  Body,
  type CallHandler,
  Controller,
  type ExecutionContext,
  HttpCode,
  Injectable,
  Module,
  type NestInterceptor,
  Post,
  UseInterceptors,
} from '@nestjs/common';
import { InjectMetric, PrometheusModule, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { type Observable, finalize, of, tap } from 'rxjs';
import { Endpoint, LlmMetricsModule, TrackLlm } from '../src/index.js';
import { type AdapterName, DoNothingInterceptor, createInjectableApp, timeRoutes } from './support/bench-app.js';
import { heading, line, ratioLine, spread } from './support/rounds.js';

/**
 * How users instrument an LLM route today: @willsoto/nestjs-prometheus
 * metrics, updated from a hand-written interceptor.
 */
@Injectable()
class HandWrittenMetricsInterceptor implements NestInterceptor {
  constructor(
    @InjectMetric('peer_requests_total') private readonly requests: Counter<string>,
    @InjectMetric('peer_inflight_requests') private readonly inflight: Gauge<string>,
    @InjectMetric('peer_request_duration_seconds') private readonly duration: Histogram<string>,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<{ body?: { model?: string; stream?: boolean } }>().body;
    const model = typeof body?.model === 'string' ? body.model : 'unknown_model';
    const requestType = body?.stream === true ? 'stream' : 'unary';
    const end = this.duration.startTimer({ model });
    this.inflight.inc({ model });
    let status = 'error';
    return next.handle().pipe(
      tap({ complete: () => (status = 'success') }),
      finalize(() => {
        this.inflight.dec({ model });
        this.requests.inc({ model, endpoint: 'chat_completions', request_type: requestType, status });
        end();
      }),
    );
  }
}

@Controller()
class PeerBenchController {
  @Post('do-nothing')
  @HttpCode(200)
  @UseInterceptors(DoNothingInterceptor)
  doNothing(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }

  @Post('peer')
  @HttpCode(200)
  @UseInterceptors(HandWrittenMetricsInterceptor)
  peer(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }

  @Post('ours')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  ours(@Body() body: { model: string }) {
    return of({ model: body.model, ok: true });
  }
}

@Module({
  imports: [PrometheusModule.register({ defaultMetrics: { enabled: false } }), LlmMetricsModule.forRoot({ path: '/llm-metrics' })],
  controllers: [PeerBenchController],
  providers: [
    HandWrittenMetricsInterceptor,
    makeCounterProvider({ name: 'peer_requests_total', help: 'requests', labelNames: ['model', 'endpoint', 'request_type', 'status'] }),
    makeGaugeProvider({ name: 'peer_inflight_requests', help: 'inflight', labelNames: ['model'] }),
    makeHistogramProvider({
      name: 'peer_request_duration_seconds',
      help: 'duration',
      labelNames: ['model'],
      buckets: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256],
    }),
  ],
})
class PeerBenchModule {}

const VARIANTS = ['do-nothing', 'peer', 'ours'] as const;

/** Ours against the hand-written instrumentation, µs per request. */
export async function peerComparison(adapter: AdapterName, rounds: number, requestsPerRound: number) {
  const { app, request } = await createInjectableApp(PeerBenchModule, adapter);
  const results = await timeRoutes(request, VARIANTS, { rounds, perRound: requestsPerRound, payload: { model: 'bench-model' } });
  await app.close();
  heading(
    `The peer, ${adapter}: @willsoto/nestjs-prometheus + a hand-written interceptor (${rounds} rounds × ${requestsPerRound}; µs/request)`,
  );
  for (const variant of VARIANTS) {
    line(`- ${variant.padEnd(10)} ${spread(results[variant])} µs`);
  }
  // µs/request: rps(ours) / rps(peer) = µs(peer) / µs(ours).
  ratioLine('rps ours ÷ peer', results.peer.samples, results.ours.samples, '≥ 1.0');
  // What bare prom-client calls from an interceptor cost on this route, for comparison with ours.
  ratioLine('rps peer ÷ do-nothing', results['do-nothing'].samples, results.peer.samples, '(information)');
  return results;
}
