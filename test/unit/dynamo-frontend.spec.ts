import { Registry } from 'prom-client';
import { Endpoint, ErrorType, LlmMetricsService, errorTypeForStatus } from '../../src/index.js';
import { DYNAMO_FRONTEND } from '../../src/schemas/dynamo-frontend.schema.js';
import { DYNAMO_FRONTEND_REFERENCE as REFERENCE } from '../support/dynamo-frontend.reference.js';
import { hasSample, parseExposition, valueOf } from '../support/exposition.js';

/** A clock the test moves by hand, in milliseconds. */
class ManualClock {
  now = 1000;
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

describe('the dynamo-frontend schema', () => {
  let clock: ManualClock;
  let registry: Registry;
  let metrics: LlmMetricsService;
  let ready: [string, boolean][];

  beforeEach(() => {
    clock = new ManualClock();
    registry = new Registry();
    ready = [
      ['llama', true],
      ['mistral', false],
    ];
    metrics = new LlmMetricsService(undefined, { schema: 'dynamo-frontend', clock: clock.read, modelReady: () => ready });
    metrics.register(registry);
  });

  const text = () => registry.metrics();

  it("is the table of the reference: names, types, labels and help texts, in its order, then this library's answer, SLO and gateway metrics", () => {
    const rows = DYNAMO_FRONTEND.metrics.map(({ suffix, type, labels, help, answer, slo, gateway }) => ({
      row: [suffix, type, [...labels], help],
      ours: answer !== undefined || slo === true || gateway !== undefined,
    }));
    expect(rows.filter(({ ours }) => !ours).map(({ row }) => row)).toEqual(REFERENCE);
    expect(rows.slice(REFERENCE.length).every(({ ours }) => ours)).toBe(true);
  });

  it('exposes every metric under dynamo_frontend_ with its help text and type', async () => {
    const exposition = await text();
    for (const [suffix, type, , help] of REFERENCE) {
      expect(exposition).toContain(`# HELP dynamo_frontend_${suffix} ${help}\n# TYPE dynamo_frontend_${suffix} ${type}\n`);
    }
    expect(exposition).not.toContain('http_service');
  });

  it('takes another prefix, and has no model_ready without the modelReady option', async () => {
    const other = new LlmMetricsService('gateway', { schema: 'dynamo-frontend' });
    const otherRegistry = new Registry();
    other.register(otherRegistry);
    const exposition = await otherRegistry.metrics();
    expect(exposition).toContain('# TYPE gateway_requests_total counter');
    expect(exposition).not.toContain('model_ready');
  });

  it('counts a request as started, active, in flight and queued until its first token, then not queued, then finished', async () => {
    const guard = metrics.createInflightGuard('llama', Endpoint.ChatCompletions, true);
    let exposition = await text();
    expect(
      valueOf(exposition, 'dynamo_frontend_requests_started_total', {
        model: 'llama',
        endpoint: 'chat_completions',
        request_type: 'stream',
      }),
    ).toBe(1);
    for (const gauge of ['active_requests', 'inflight_requests', 'queued_requests']) {
      expect(valueOf(exposition, `dynamo_frontend_${gauge}`, { model: 'llama' })).toBe(1);
    }
    clock.advance(300);
    guard.recordOutput(2);
    exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_queued_requests', { model: 'llama' })).toBe(0);
    expect(valueOf(exposition, 'dynamo_frontend_active_requests', { model: 'llama' })).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_output_tokens_total', { model: 'llama' })).toBe(2);
    expect(valueOf(exposition, 'dynamo_frontend_time_to_first_token_seconds_sum', { model: 'llama' })).toBeCloseTo(0.3, 9);
    expect(hasSample(exposition, 'dynamo_frontend_inter_token_latency_seconds_count', { model: 'llama' })).toBe(false);
    clock.advance(100);
    guard.recordOutput(1);
    guard.recordUsage({ prompt_tokens: 40, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 32 } });
    guard.markOk();
    guard.finish();
    exposition = await text();
    expect(
      valueOf(exposition, 'dynamo_frontend_requests_total', {
        model: 'llama',
        endpoint: 'chat_completions',
        request_type: 'stream',
        status: 'success',
        error_type: '',
      }),
    ).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_inter_token_latency_seconds_sum', { model: 'llama' })).toBeCloseTo(0.1, 9);
    expect(valueOf(exposition, 'dynamo_frontend_output_tokens_total', { model: 'llama' })).toBe(3);
    expect(valueOf(exposition, 'dynamo_frontend_input_sequence_tokens_sum', { model: 'llama' })).toBe(40);
    expect(valueOf(exposition, 'dynamo_frontend_output_sequence_tokens_sum', { model: 'llama' })).toBe(3);
    expect(valueOf(exposition, 'dynamo_frontend_cached_tokens_sum', { model: 'llama' })).toBe(32);
    expect(valueOf(exposition, 'dynamo_frontend_request_duration_seconds_sum', { model: 'llama' })).toBeCloseTo(0.4, 9);
    for (const gauge of ['active_requests', 'inflight_requests', 'queued_requests']) {
      expect(valueOf(exposition, `dynamo_frontend_${gauge}`, { model: 'llama' })).toBe(0);
    }
  });

  it('leaves a request queued until its end when no token comes, and counts a unary answer’s output tokens when it ends', async () => {
    const guard = metrics.createInflightGuard('llama', Endpoint.Completions, false);
    expect(valueOf(await text(), 'dynamo_frontend_queued_requests', { model: 'llama' })).toBe(1);
    guard.recordUsage({ prompt_tokens: 7, completion_tokens: 12 });
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_queued_requests', { model: 'llama' })).toBe(0);
    expect(valueOf(exposition, 'dynamo_frontend_output_tokens_total', { model: 'llama' })).toBe(12);
    expect(valueOf(exposition, 'dynamo_frontend_output_sequence_tokens_sum', { model: 'llama' })).toBe(12);
    expect(hasSample(exposition, 'dynamo_frontend_time_to_first_token_seconds_count', { model: 'llama' })).toBe(false);
  });

  it('observes the lengths known at the end of a failed request, and no output length of 0', async () => {
    const failed = metrics.createInflightGuard('llama', Endpoint.ChatCompletions, true);
    failed.recordOutput(1);
    failed.recordUsage({ prompt_tokens: 9 });
    failed.markError(ErrorType.Internal);
    failed.finish();
    const empty = metrics.createInflightGuard('llama', Endpoint.ChatCompletions, true);
    empty.markOk();
    empty.finish();
    const exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_input_sequence_tokens_count', { model: 'llama' })).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_output_sequence_tokens_count', { model: 'llama' })).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_output_sequence_tokens_sum', { model: 'llama' })).toBe(1);
    expect(
      valueOf(exposition, 'dynamo_frontend_requests_total', {
        model: 'llama',
        endpoint: 'chat_completions',
        request_type: 'stream',
        status: 'error',
        error_type: 'internal',
      }),
    ).toBe(1);
  });

  it('counts a client that goes away as a disconnect and a cancellation, and the request as cancelled', async () => {
    const guard = metrics.createInflightGuard('llama', Endpoint.ChatCompletions, true);
    guard.cancel();
    guard.cancel();
    const exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_disconnected_clients')).toBe(1);
    expect(
      valueOf(exposition, 'dynamo_frontend_model_cancellation_total', {
        model: 'llama',
        endpoint: 'chat_completions',
        request_type: 'stream',
      }),
    ).toBe(1);
    expect(
      valueOf(exposition, 'dynamo_frontend_requests_total', {
        model: 'llama',
        endpoint: 'chat_completions',
        request_type: 'stream',
        status: 'error',
        error_type: 'cancelled',
      }),
    ).toBe(1);
  });

  it('counts a rejection for lack of resources, and the request as overload', async () => {
    const guard = metrics.createInflightGuard('llama', Endpoint.Completions, false);
    guard.reject();
    guard.markOk();
    guard.finish();
    const exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_model_rejection_total', { model: 'llama', endpoint: 'completions' })).toBe(1);
    expect(
      valueOf(exposition, 'dynamo_frontend_requests_total', {
        model: 'llama',
        endpoint: 'completions',
        request_type: 'unary',
        status: 'error',
        error_type: 'overload',
      }),
    ).toBe(1);
  });

  it('observes embedding latency for embeddings requests only', async () => {
    for (const endpoint of [Endpoint.Embeddings, Endpoint.ChatCompletions]) {
      const guard = metrics.createInflightGuard('llama', endpoint, false);
      clock.advance(20);
      guard.markOk();
      guard.finish();
    }
    const exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_embedding_latency_seconds_count', { model: 'llama' })).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_embedding_latency_seconds_sum', { model: 'llama' })).toBeCloseTo(0.02, 9);
    expect(valueOf(exposition, 'dynamo_frontend_request_duration_seconds_count', { model: 'llama' })).toBe(2);
  });

  it('reads model_ready at every scrape', async () => {
    let exposition = await text();
    expect(valueOf(exposition, 'dynamo_frontend_model_ready', { model: 'llama' })).toBe(1);
    expect(valueOf(exposition, 'dynamo_frontend_model_ready', { model: 'mistral' })).toBe(0);
    ready = [['mistral', true]];
    exposition = await text();
    expect(parseExposition(exposition).filter(({ name }) => name === 'dynamo_frontend_model_ready')).toEqual([
      { name: 'dynamo_frontend_model_ready', labels: { model: 'mistral' }, value: 1 },
    ]);
  });

  it('maps HTTP statuses to error types as Dynamo does: 499 cancelled, 429 and 529 overload, 500 internal', () => {
    const guard = metrics.createInflightGuard('llama', Endpoint.Completions, false);
    expect([400, 404, 429, 499, 500, 501, 502, 503, 529].map((status) => guard.errorTypeForStatus(status))).toEqual([
      'validation',
      'not_found',
      'overload',
      'cancelled',
      'internal',
      'not_implemented',
      'internal',
      'unavailable',
      'overload',
    ]);
    expect(errorTypeForStatus(499)).toBe('validation');
  });
});
