import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OpenAI-compatible upstream whose behaviour the model's name
 * scripts, for the gateway's tests (chat completions, unary and streamed):
 * - `ok`: answers `tokens` (default 4) tokens of content;
 * - `flaky`: 429 with `retry-after: 0` on a first attempt, then answers (the `openai` client's retry header tells them apart);
 * - `failing`: 500, every attempt;
 * - `breaking`: streams two chunks, then drops the connection;
 * - `slow`: waits `SLOW_FIRST_CHUNK_MS` before its first chunk;
 * - `hostile`: rate-limit headers no provider sends (huge, negative, garbage).
 * Every answer of the others reports its rate limits: requests remaining count down from 1000.
 */
export interface ScriptedUpstream {
  readonly url: string;
  /** Requests received, every attempt. */
  readonly received: { model: string; retry: number; stream: boolean }[];
  close(): Promise<void>;
}

export const SLOW_FIRST_CHUNK_MS = 150;
const PROMPT_TOKENS = 12;
const CACHED_TOKENS = 4;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}

function usage(completion: number): object {
  return {
    prompt_tokens: PROMPT_TOKENS,
    completion_tokens: completion,
    total_tokens: PROMPT_TOKENS + completion,
    prompt_tokens_details: { cached_tokens: CACHED_TOKENS },
  };
}

function chunk(model: string, delta: object, extra: object = {}): string {
  return `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const received: ScriptedUpstream['received'] = [];
  let remaining = 1000;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const text = await readBody(request);
      const body = (text ? JSON.parse(text) : {}) as {
        model?: string;
        stream?: boolean;
        max_tokens?: number;
        stream_options?: { include_usage?: boolean };
      };
      const model = body.model ?? '';
      const retry = Number(request.headers['x-stainless-retry-count'] ?? 0);
      received.push({ model, retry, stream: body.stream === true });
      if (model === 'hostile') {
        response.setHeader('x-ratelimit-remaining-requests', '9'.repeat(40));
        response.setHeader('x-ratelimit-remaining-tokens', '-5');
        response.setHeader('x-ratelimit-reset-requests', 'soon');
        response.setHeader('x-ratelimit-reset-tokens', `${'1h'.repeat(30)}`);
      } else {
        remaining -= 1;
        response.setHeader('x-ratelimit-remaining-requests', String(remaining));
        response.setHeader('x-ratelimit-remaining-tokens', '50000');
        response.setHeader('x-ratelimit-reset-requests', '1s');
        response.setHeader('x-ratelimit-reset-tokens', '6m0s');
      }
      if ((model === 'flaky' && retry === 0) || model === 'failing') {
        response.writeHead(model === 'flaky' ? 429 : 500, {
          'content-type': 'application/json',
          'retry-after': '0',
          'retry-after-ms': '5',
        });
        response.end(JSON.stringify({ error: { message: `scripted ${model}`, type: 'server_error', param: null, code: null } }));
        return;
      }
      const tokens = body.max_tokens ?? 4;
      if (!body.stream) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: 'c',
            object: 'chat.completion',
            created: 1,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'tok '.repeat(tokens) }, finish_reason: 'stop' }],
            usage: usage(tokens),
          }),
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.flushHeaders();
      if (model === 'slow') {
        await delay(SLOW_FIRST_CHUNK_MS);
      }
      for (let i = 0; i < tokens; i++) {
        if (model === 'breaking' && i === 2) {
          response.socket?.destroy();
          return;
        }
        response.write(chunk(model, { content: 'tok ' }));
        await delay(2);
      }
      if (body.stream_options?.include_usage) {
        response.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: usage(tokens) })}\n\n`,
        );
      }
      response.end('data: [DONE]\n\n');
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The usage every scripted answer of `completion` tokens reports. */
export const SCRIPTED_USAGE = { prompt: PROMPT_TOKENS, cached: CACHED_TOKENS };
