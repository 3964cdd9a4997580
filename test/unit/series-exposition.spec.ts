import { jest } from '@jest/globals';
import { Registry, type RegistryContentType } from 'prom-client';
import { Endpoint, ErrorType, LlmMetricsService, type LlmMetricsServiceOptions, type SchemaName } from '../../src/index.js';
import { renderStoreAndRegistry } from '../../src/exposition/registry-exposition.js';
import { RenderSlices } from '../../src/exposition/render-slices.js';
import { promtoolCheck } from '../support/promtool.js';

/*
 * The service renders its metrics itself (`render`); prom-client renders the
 * same metrics from its own store. Side by side, for the same traffic, in
 * both formats, the two texts are the same, byte for byte.
 */

const TRACE = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };

interface Source {
  tenant?: string;
}

/** A service on a clock the traffic moves, registered in a registry of `format`. */
function serviceIn(format: 'text' | 'openmetrics', options: LlmMetricsServiceOptions, defaultLabels?: Record<string, string>) {
  const clock = { now: 0 };
  const registry = new Registry<RegistryContentType>();
  if (format === 'openmetrics') {
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  }
  if (defaultLabels) {
    registry.setDefaultLabels(defaultLabels);
  }
  const service = new LlmMetricsService(undefined, { clock: () => clock.now, ...options });
  service.register(registry);
  return { clock, registry, service };
}

/** Streams and unary requests of two models and tenants, every outcome, some with a trace; `round` varies the values. */
function drive({ service, clock }: ReturnType<typeof serviceIn>, round: number): void {
  const models = ['llama', 'mistral "7b"\n\\'];
  for (let i = 0; i < 12; i++) {
    const source: Source = { tenant: i % 3 === 0 ? 'acme' : i % 3 === 1 ? 'beta' : undefined };
    const guard = service.createInflightGuard(
      models[i % 2],
      i % 4 === 3 ? Endpoint.Completions : Endpoint.ChatCompletions,
      i % 2 === 0,
      source,
    );
    if (i % 5 === 0) {
      guard.linkTrace(TRACE);
    }
    for (let token = 0; token < (i % 4) + 1; token++) {
      clock.now += 7 * (i + round) + token;
      guard.recordOutput(1 + (token % 2));
    }
    guard.recordUsage({ prompt_tokens: 10 * i + round, completion_tokens: i + 1, prompt_tokens_details: { cached_tokens: i } });
    clock.now += 1000 * i;
    if (i % 6 === 5) {
      guard.markError(ErrorType.Overload);
    } else if (i % 7 !== 6) {
      guard.markOk();
    }
    if (i === 4) {
      guard.cancel();
    }
    if (i === 8) {
      guard.reject();
    }
    guard.finish();
  }
  // One still in flight.
  service.createInflightGuard('llama', Endpoint.ChatCompletions, true, { tenant: 'acme' });
}

/** The service's own render of `format`, joined as prom-client's registry joins families. */
async function ownText(
  service: LlmMetricsService,
  format: 'text' | 'openmetrics',
  defaultLabels?: Record<string, string>,
  sliceMs?: number,
): Promise<string> {
  const chunks = await renderStoreAndRegistry(new Registry(), service.store, format, {
    defaultLabels,
    slices: sliceMs === undefined ? undefined : new RenderSlices(sliceMs),
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** Each case: its schema, options, default labels, and what its text must show (that the comparison covers it). */
const CASES: [string, SchemaName, LlmMetricsServiceOptions, Record<string, string> | undefined, string[]][] = [
  [
    '0.2.1',
    'dynamo-0.2.1',
    {},
    undefined,
    ['model="mistral \\"7b\\"\\n\\\\"', 'request_type="stream"', '_bucket{le="+Inf",model="llama"}'],
  ],
  [
    '0.2.1 with error_type, exemplars, default labels',
    'dynamo-0.2.1',
    { errorType: true, exemplars: true },
    { instance: 'a "b"', model: 'shadowed' },
    ['error_type="overload"', 'instance="a \\"b\\""', 'model="llama"'],
  ],
  [
    'frontend with request labels, exemplars, readiness',
    'dynamo-frontend',
    {
      exemplars: true,
      modelReady: () => [
        ['llama', true],
        ['gone', false],
      ],
      labels: {
        tenant: {
          from: (source) => (source as Source).tenant,
          metrics: ['requests_total', 'request_duration_seconds', 'inflight_requests', 'output_tokens_total'],
        },
      },
    },
    { instance: 'x' },
    [
      'tenant="acme"',
      'tenant=""',
      'dynamo_frontend_model_ready{model="gone",instance="x"} 0',
      'dynamo_frontend_disconnected_clients{instance="x"} 1',
      'dynamo_frontend_label_overflow_total{label="tenant",instance="x"} 0',
    ],
  ],
];

describe('the service renders its metrics as prom-client does', () => {
  beforeAll(() => {
    // Exemplars are stamped with Date.now() by each side: the same instant for both.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      now: 1_760_000_000_123,
    });
  });
  afterAll(() => {
    jest.useRealTimers();
  });

  describe.each(CASES)('%s', (_, schema, options, defaultLabels, shown) => {
    it.each(['text', 'openmetrics'] as const)('in the %s format, byte for byte, before and after more traffic', async (format) => {
      const app = serviceIn(format, { schema, ...options }, defaultLabels);
      drive(app, 1);
      const first = await ownText(app.service, format, defaultLabels);
      expect(first).toBe(await app.registry.metrics());
      for (const text of shown) {
        expect(first).toContain(text);
      }
      if (options.exemplars && format === 'openmetrics') {
        expect(first).toContain(` # {trace_id="${TRACE.trace_id}",span_id="${TRACE.span_id}"} `);
      }
      drive(app, 2);
      // The other order: the service first, then prom-client.
      const own = await ownText(app.service, format, defaultLabels);
      expect(own).toBe(await app.registry.metrics());
      if (format === 'text') {
        expect(promtoolCheck(own)).toEqual({ status: 0, output: '' });
      }
    });
  });

  it('renders each format the same when scrapes alternate between them', async () => {
    const app = serviceIn('text', { exemplars: true }, { instance: 'a' });
    drive(app, 1);
    const openMetrics = await ownText(app.service, 'openmetrics', { instance: 'a' });
    for (let i = 0; i < 3; i++) {
      expect(await ownText(app.service, 'text', { instance: 'a' })).toBe(await app.registry.metrics());
      expect(await ownText(app.service, 'openmetrics', { instance: 'a' })).toBe(openMetrics);
    }
    expect(openMetrics).toContain('nv_llm_http_service_requests_total{model="llama"');
    expect(openMetrics).toContain('# TYPE nv_llm_http_service_requests counter');
  });

  it('renders a stream of series in slices, letting the event loop run between them, with the same text', async () => {
    const app = serviceIn('text', {});
    for (let model = 0; model < 300; model++) {
      const guard = app.service.createInflightGuard(`model-${model}`, Endpoint.ChatCompletions, true);
      guard.recordOutput(1);
      guard.recordOutput(1);
      guard.markOk();
      guard.finish();
    }
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const sliced = await ownText(app.service, 'text', undefined, 0);
    clearInterval(ticking);
    expect(turns).toBeGreaterThan(0);
    expect(sliced).toBe(await ownText(app.service, 'text', undefined, 1000));
    expect(sliced).toBe(await app.registry.metrics());
  });

  it('drops the series of an expired request-label value on both sides', async () => {
    const app = serviceIn('text', {
      labelTtl: 1000,
      labels: { tenant: { from: (source) => (source as Source).tenant, metrics: ['requests_total', 'request_duration_seconds'] } },
    });
    drive(app, 1);
    await app.registry.metrics();
    app.clock.now += 10 * 60 * 60 * 1000;
    const own = await ownText(app.service, 'text');
    expect(own).not.toContain('tenant="beta"');
    expect(own).toBe(await app.registry.metrics());
  });
});
