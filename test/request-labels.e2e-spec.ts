import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { Endpoint, LlmMetricsModule, type LlmRequestMetrics, RequestMetrics, TrackLlm } from '../src/index.js';
import { AppModule } from '../sample/app.module.js';
import { parseExposition, samplesOf, sumOf, valueOf, withoutExemplars } from './support/exposition.js';
import { ADAPTERS, type RunningApp, eventually, scrape, startApp } from './support/http.js';
import { promtoolCheck } from './support/promtool.js';

const PREFIX = 'nv_llm_http_service_';
const REQUESTS = `${PREFIX}requests_total`;
const LLAMA = 'mock-llama-3-8b';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
const API_KEYS = { 'sk-acme': 'acme', 'sk-beta': 'beta' };

/** POSTs a chat with `headers`, reads the whole answer, returns its status. */
async function chat(baseUrl: string, stream: boolean, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: LLAMA, messages: [{ role: 'user', content: 'Hi' }], stream, stream_options: { include_usage: true } }),
  });
  await response.text();
  return response.status;
}

/** The distinct values of `label` among the samples of `name`. */
const valuesOf = (text: string, name: string, label: string) => new Set(samplesOf(text, name).map((sample) => sample.labels[label]));

describe.each(ADAPTERS)('request labels (%s)', (adapter) => {
  describe('in the sample: the tenant its API-key guard notes on the request, the team of a header', () => {
    let app: RunningApp;
    beforeAll(async () => {
      app = await startApp(
        AppModule.register({
          tokenDelayMs: 1,
          apiKeys: API_KEYS,
          metrics: {
            labels: {
              team: {
                from: (request) => request.headers?.['x-team'],
                allow: ['red', 'blue'],
                missing: 'none',
                metrics: ['requests_total'],
              },
            },
          },
        }),
        { adapter },
      );
      const sent = [
        await chat(app.baseUrl, true, { authorization: 'Bearer sk-acme', 'x-team': 'red' }),
        await chat(app.baseUrl, false, { authorization: 'Bearer sk-acme', 'x-team': 'red' }),
        await chat(app.baseUrl, true, { authorization: 'Bearer sk-beta', 'x-team': 'purple' }),
        await chat(app.baseUrl, false, { authorization: 'Bearer sk-beta' }),
        // Refused by the guard, before the interceptor: not counted.
        await chat(app.baseUrl, false, { authorization: 'Bearer sk-nobody', 'x-team': 'red' }),
      ];
      expect(sent).toEqual([200, 200, 200, 200, 401]);
      await eventually(
        () => scrape(app.baseUrl),
        (text) => sumOf(text, REQUESTS) === 4,
      );
    });
    afterAll(() => app.close());

    it('counts requests by tenant and team, the refused team as other and the absent one as missing', async () => {
      const text = await scrape(app.baseUrl);
      const count = (labels: Record<string, string>) => sumOf(text, REQUESTS, labels);
      expect(count({ tenant: 'acme', team: 'red' })).toBe(2);
      expect(count({ tenant: 'beta', team: 'other' })).toBe(1);
      expect(count({ tenant: 'beta', team: 'none' })).toBe(1);
      expect(
        valueOf(text, REQUESTS, {
          model: LLAMA,
          endpoint: 'chat_completions',
          request_type: 'stream',
          status: 'success',
          tenant: 'beta',
          team: 'other',
        }),
      ).toBe(1);
      expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'team' })).toBe(1);
      expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(0);
    });

    it('puts the tenant on the token histograms and answer counters, the team only on requests_total, neither on latencies or in-flight', async () => {
      const text = await scrape(app.baseUrl);
      expect(sumOf(text, `${PREFIX}output_sequence_tokens_count`, { tenant: 'acme' })).toBe(2);
      expect(sumOf(text, `${PREFIX}input_sequence_tokens_count`, { tenant: 'beta' })).toBe(2);
      const labelled = new Set(
        parseExposition(text)
          .filter(({ labels }) => 'tenant' in labels || 'team' in labels)
          .map(({ name }) => name.replace(/_(bucket|sum|count)$/, '')),
      );
      expect(labelled).toEqual(
        new Set([
          REQUESTS,
          `${PREFIX}input_sequence_tokens`,
          `${PREFIX}output_sequence_tokens`,
          `${PREFIX}finish_reasons_total`,
          `${PREFIX}cached_prompt_tokens_total`,
          `${PREFIX}reasoning_tokens_total`,
        ]),
      );
      expect(valuesOf(text, REQUESTS, 'team')).toEqual(new Set(['red', 'other', 'none']));
      expect(valueOf(text, `${PREFIX}request_duration_seconds_count`, { model: LLAMA })).toBe(4);
      expect(valueOf(text, `${PREFIX}inflight_requests`, { model: LLAMA })).toBe(0);
    });

    it('passes promtool, and shows the same series in OpenMetrics', async () => {
      const text = await scrape(app.baseUrl);
      const openMetrics = await scrape(app.baseUrl, '/metrics', OPENMETRICS);
      expect(promtoolCheck(text).output).toBe('');
      for (const labels of [
        { tenant: 'acme', team: 'red' },
        { tenant: 'beta', team: 'other' },
        { tenant: 'beta', team: 'none' },
      ]) {
        expect(samplesOf(withoutExemplars(openMetrics), REQUESTS, labels)).toEqual(samplesOf(text, REQUESTS, labels));
      }
      expect(samplesOf(withoutExemplars(openMetrics), `${PREFIX}output_sequence_tokens_count`)).toEqual(
        samplesOf(text, `${PREFIX}output_sequence_tokens_count`),
      );
    });
  });

  describe('with hostile values', () => {
    let app: RunningApp;
    beforeAll(async () => {
      @Controller('v1')
      class EchoLabelsController {
        /** Answers with the labels `@RequestMetrics()` says the request is recorded under. */
        @Post('chat/completions')
        @HttpCode(200)
        @TrackLlm(Endpoint.ChatCompletions)
        chat(@Body() body: { model?: unknown }, @RequestMetrics() metrics: LlmRequestMetrics) {
          return { object: 'chat.completion', model: body.model, labels: metrics.labels };
        }
      }
      @Module({
        imports: [LlmMetricsModule.forRoot({ labels: { tenant: { from: (request) => request.headers?.['x-tenant'], max: 20 } } })],
        controllers: [EchoLabelsController],
      })
      class HostileModule {}
      app = await startApp(HostileModule, { adapter });
    });
    afterAll(() => app.close());

    it('keeps at most max + 1 tenants however many distinct values clients send, and tells the handler its values', async () => {
      const SENT = 300;
      const answers: unknown[] = [];
      for (let i = 0; i < SENT; i++) {
        const response = await fetch(`${app.baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-tenant': i % 3 === 0 ? `"quoted\\" ${i}` : `tenant-${i}-${'é'.repeat(i)}` },
          body: JSON.stringify({ model: 'm' }),
        });
        answers.push(((await response.json()) as { labels: unknown }).labels);
      }
      expect(answers[0]).toEqual({ tenant: '"quoted\\" 0' });
      expect(answers[SENT - 1]).toEqual({ tenant: 'other' });
      const text = await scrape(app.baseUrl);
      expect(valuesOf(text, REQUESTS, 'tenant').size).toBe(21);
      expect(sumOf(text, REQUESTS)).toBe(SENT);
      // Values beyond 256 characters are refused outright; the others are refused once the cap is full.
      expect(valueOf(text, 'nv_llm_label_overflow_total', { label: 'tenant' })).toBe(SENT - 20);
      expect(promtoolCheck(text).output).toBe('');
    });
  });
});
