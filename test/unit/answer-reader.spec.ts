import { ToolCallOutcome } from '../../src/index.js';
import { AnswerReader, MAX_KEPT_ARGUMENTS, MAX_OPEN_TOOL_CALLS, judgeToolCall, toolNamesOf } from '../../src/openai/answer-reader.js';
import { summarizePayload } from '../../src/openai/openai-payload.js';
import { SseEventReader } from '../../src/openai/sse-event-reader.js';

/** What a reader reported: the finish reasons in order, and the tool calls by outcome. */
class Collected {
  readonly reasons: string[] = [];
  readonly toolCalls: Record<string, number> = {};
  readonly sink = {
    finishReason: (reason: string) => this.reasons.push(reason),
    toolCall: (outcome: ToolCallOutcome) => {
      this.toolCalls[outcome] = (this.toolCalls[outcome] ?? 0) + 1;
    },
  };
}

function readerFor(requestBody: unknown = {}): { collected: Collected; answer: AnswerReader } {
  const collected = new Collected();
  return { collected, answer: new AnswerReader(collected.sink, () => toolNamesOf(requestBody)) };
}

const WEATHER_TOOLS = {
  tools: [
    { type: 'function', function: { name: 'get_weather', parameters: {} } },
    { type: 'function', function: { name: 'get_time' } },
  ],
};

/** A Chat Completions chunk of one choice. */
const chunk = (delta: object, finishReason: string | null = null, index = 0) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  choices: [{ index, delta, finish_reason: finishReason }],
});

/** The SSE text of `payloads`, with `[DONE]` unless told otherwise. */
const sse = (payloads: object[], done = true) =>
  payloads.map((payload) => `data: ${JSON.stringify(payload)}\n\n`).join('') + (done ? 'data: [DONE]\n\n' : '');

describe('toolNamesOf', () => {
  it("reads the function tools of Chat Completions, the legacy functions, and the Responses API's tools", () => {
    expect(toolNamesOf(WEATHER_TOOLS)).toEqual(new Set(['get_weather', 'get_time']));
    expect(toolNamesOf({ functions: [{ name: 'legacy' }] })).toEqual(new Set(['legacy']));
    expect(toolNamesOf({ tools: [{ type: 'function', name: 'search' }, { type: 'web_search' }] })).toEqual(new Set(['search']));
  });

  it('gives no names when the request offers no tools, or more than it reads, so that names are not checked then', () => {
    for (const body of [
      undefined,
      null,
      'text',
      {},
      { tools: [] },
      { tools: 'x' },
      { tools: Array.from({ length: 1025 }, (_, i) => ({ name: `t${i}` })) },
    ]) {
      expect(toolNamesOf(body)).toBeUndefined();
    }
  });
});

describe('judgeToolCall', () => {
  const tools = new Set(['get_weather']);

  it('is ok for a tool of the request with arguments that parse as JSON, whatever JSON they are', () => {
    expect(judgeToolCall('get_weather', '{"city":"Paris"}', tools)).toBe(ToolCallOutcome.Ok);
    expect(judgeToolCall('get_weather', '[1, 2]', tools)).toBe(ToolCallOutcome.Ok);
    expect(judgeToolCall('get_weather', { city: 'Paris' }, tools)).toBe(ToolCallOutcome.Ok);
  });

  it('is invalid_arguments for arguments that do not parse, and unknown_tool for a name the request did not offer', () => {
    for (const args of ['{"city":', '', "{'city': 'Paris'}", undefined, null, 42]) {
      expect(judgeToolCall('get_weather', args, tools)).toBe(ToolCallOutcome.InvalidArguments);
    }
    expect(judgeToolCall('get_wether', '{}', tools)).toBe(ToolCallOutcome.UnknownTool);
    expect(judgeToolCall(undefined, '{}', tools)).toBe(ToolCallOutcome.UnknownTool);
    expect(judgeToolCall('get_wether', '{', tools)).toBe(ToolCallOutcome.UnknownTool);
  });

  it('checks no name when the request offered no tools', () => {
    expect(judgeToolCall('anything', '{}', undefined)).toBe(ToolCallOutcome.Ok);
    expect(judgeToolCall('anything', '{', undefined)).toBe(ToolCallOutcome.InvalidArguments);
  });
});

describe('AnswerReader, Chat Completions and Completions', () => {
  it('reports the finish reason of each choice of a whole answer, and judges its tool calls and legacy function call', () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    answer.read({
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'b', type: 'function', function: { name: 'get_time', arguments: '{"tz":' } },
              { id: 'c', type: 'function', function: { name: 'launch', arguments: '{}' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
        { index: 1, message: { role: 'assistant', function_call: { name: 'get_time', arguments: '{}' } }, finish_reason: 'function_call' },
        { index: 2, message: { role: 'assistant', content: 'cut' }, finish_reason: 'length' },
      ],
    });
    expect(collected.reasons).toEqual(['tool_calls', 'function_call', 'length']);
    expect(collected.toolCalls).toEqual({ ok: 2, invalid_arguments: 1, unknown_tool: 1 });
  });

  it('reads a Completions answer and its chunks: finish reasons only', () => {
    const { collected, answer } = readerFor();
    answer.read({ object: 'text_completion', choices: [{ index: 0, text: 'x', finish_reason: 'stop' }] });
    answer.read({ object: 'text_completion', choices: [{ index: 0, text: 'y', finish_reason: null }] });
    answer.read({ object: 'text_completion', choices: [{ index: 1, text: '', finish_reason: 'length' }] });
    expect(collected.reasons).toEqual(['stop', 'length']);
    expect(collected.toolCalls).toEqual({});
  });

  it('passes any finish reason on as the answer gives it (the guard makes an unknown one other)', () => {
    const { collected, answer } = readerFor();
    answer.read(chunk({}, 'abort'));
    answer.read(chunk({}, ''));
    answer.read({ choices: [{ finish_reason: 42 }, null, 'x'] });
    expect(collected.reasons).toEqual(['abort', '']);
  });

  it("judges a streamed tool call once its choice finishes, its arguments joined from every chunk's part", () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    answer.read(
      chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    );
    for (const part of ['{"ci', 'ty":', ' "Par', 'is"}']) {
      answer.read(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    }
    answer.read(
      chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'get_time', arguments: '{"tz": "UTC"' } }] }),
    );
    expect(collected.toolCalls).toEqual({});
    answer.read(chunk({}, 'tool_calls'));
    expect(collected.toolCalls).toEqual({ ok: 1, invalid_arguments: 1 });
    expect(collected.reasons).toEqual(['tool_calls']);
  });

  it('keeps the tool calls of several choices (n > 1) apart, each judged when its own choice finishes', () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: '{"a":' } }] }, null, 0));
    answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'nope', arguments: '{}' } }] }, null, 1));
    answer.read(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }, null, 0));
    answer.read(chunk({}, 'tool_calls', 1));
    expect(collected.toolCalls).toEqual({ unknown_tool: 1 });
    answer.read(chunk({}, 'tool_calls', 0));
    expect(collected.toolCalls).toEqual({ unknown_tool: 1, ok: 1 });
  });

  it('judges the calls still open when the request ends well (no finish reason, no [DONE]), and drops them when it fails', () => {
    const ended = readerFor(WEATHER_TOOLS);
    ended.answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'get_time', arguments: '{}' } }] }));
    ended.answer.end(true);
    expect(ended.collected.toolCalls).toEqual({ ok: 1 });
    expect(ended.collected.reasons).toEqual([]);

    const failed = readerFor(WEATHER_TOOLS);
    failed.answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'get_time', arguments: '{"tz": "U' } }] }));
    failed.answer.end(false);
    expect(failed.collected.toolCalls).toEqual({});
  });

  it('reads the legacy streamed function_call', () => {
    const { collected, answer } = readerFor({ functions: [{ name: 'f' }] });
    answer.read(chunk({ function_call: { name: 'f', arguments: '{"x"' } }));
    answer.read(chunk({ function_call: { arguments: ':1}' } }));
    answer.read(chunk({}, 'function_call'));
    expect(collected.toolCalls).toEqual({ ok: 1 });
    expect(collected.reasons).toEqual(['function_call']);
  });
});

describe('AnswerReader, the Responses API', () => {
  it('judges a streamed function call when its item is done, and reads completed as tool_calls after one', () => {
    const { collected, answer } = readerFor({ tools: [{ type: 'function', name: 'get_weather' }] });
    answer.read({ type: 'response.output_item.added', item: { type: 'function_call', name: 'get_weather', arguments: '' } });
    answer.read({ type: 'response.function_call_arguments.delta', delta: '{"city":"Paris"}' });
    answer.read({ type: 'response.output_item.done', item: { type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' } });
    answer.read({ type: 'response.output_item.done', item: { type: 'message', content: [] } });
    const completed = { status: 'completed', output: [{ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    answer.read({ type: 'response.completed', response: completed });
    expect(collected.toolCalls).toEqual({ ok: 1 });
    expect(collected.reasons).toEqual(['tool_calls']);
  });

  it('reads completed as stop, and incomplete by its reason: max_output_tokens as length, content_filter as itself', () => {
    const reasons = (response: object) => {
      const { collected, answer } = readerFor();
      answer.read({ type: 'response.completed', response });
      answer.read({ type: 'response.incomplete', response });
      return collected.reasons;
    };
    expect(reasons({ status: 'completed' })).toEqual(['stop', 'stop']);
    expect(reasons({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })).toEqual(['length', 'length']);
    expect(reasons({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } })).toEqual([
      'content_filter',
      'content_filter',
    ]);
    expect(reasons({ status: 'incomplete', incomplete_details: null })).toEqual(['other', 'other']);
    expect(reasons({ status: 'failed' })).toEqual([]);
  });

  it('reads a whole answer: its function calls and its status', () => {
    const { collected, answer } = readerFor({ tools: [{ type: 'function', name: 'get_weather' }] });
    answer.read({
      object: 'response',
      status: 'completed',
      output: [
        { type: 'reasoning', summary: [] },
        { type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', name: 'get_weather', arguments: '{"city"' },
      ],
    });
    expect(collected.toolCalls).toEqual({ ok: 1, invalid_arguments: 1 });
    expect(collected.reasons).toEqual(['tool_calls']);
  });
});

describe('AnswerReader, read from a stream split anywhere', () => {
  const stream = sse([
    chunk({ role: 'assistant', reasoning_content: 'Think' }),
    chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'get_weather', arguments: '{"city"' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: ': "Paris"}' } }] }),
    chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'unknown', arguments: '{}' } }] }),
    chunk({}, 'tool_calls'),
    {
      id: 'chatcmpl-1',
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 4 } },
    },
  ]);

  function readInParts(parts: string[]) {
    const collected = new Collected();
    const answer = new AnswerReader(collected.sink, () => toolNamesOf(WEATHER_TOOLS));
    const reader = new SseEventReader(answer);
    let tokens = 0;
    let content = 0;
    let usage: unknown;
    for (const part of parts) {
      const summary = reader.read(part);
      tokens += summary.tokens;
      content += summary.content;
      usage = summary.usage ?? usage;
    }
    return { reasons: collected.reasons, toolCalls: collected.toolCalls, tokens, content, usage };
  }

  it('reads the same facts however the stream is cut into chunks, at every position', () => {
    const whole = readInParts([stream]);
    expect(whole).toEqual({
      reasons: ['tool_calls'],
      toolCalls: { ok: 1, unknown_tool: 1 },
      tokens: 4,
      content: 3,
      usage: { prompt_tokens: 3, completion_tokens: 9, completion_tokens_details: { reasoning_tokens: 4 } },
    });
    for (let cut = 1; cut < stream.length; cut++) {
      expect(readInParts([stream.slice(0, cut), stream.slice(cut)])).toEqual(whole);
    }
    expect(readInParts([...stream])).toEqual(whole);
    expect(readInParts([...Buffer.from(stream)].map((byte) => Buffer.from([byte]).toString('latin1')))).toEqual(whole);
  });

  it('reads the same facts as the summaries of the parsed payloads', () => {
    const collected = new Collected();
    const answer = new AnswerReader(collected.sink, () => toolNamesOf(WEATHER_TOOLS));
    for (const event of stream.split('\n\n').filter((data) => data.startsWith('data: {'))) {
      summarizePayload(JSON.parse(event.slice(6)), answer);
    }
    expect({ reasons: collected.reasons, toolCalls: collected.toolCalls }).toEqual({
      reasons: readInParts([stream]).reasons,
      toolCalls: readInParts([stream]).toolCalls,
    });
  });
});

describe('AnswerReader, hostile answers', () => {
  it('counts 10 000 distinct tool names in one stream, keeping at most a few open at once', () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    const open = (answer as unknown as { open: Map<string, unknown> }).open;
    let most = 0;
    for (let index = 0; index < 10_000; index++) {
      answer.read(chunk({ tool_calls: [{ index, function: { name: `tool_${index}`, arguments: '{}' } }] }));
      most = Math.max(most, open.size);
    }
    answer.read(chunk({}, 'tool_calls'));
    expect(collected.toolCalls).toEqual({ unknown_tool: 10_000 });
    expect(most).toBeLessThanOrEqual(MAX_OPEN_TOOL_CALLS);
    expect(open.size).toBe(0);
  });

  it('parses arguments of 1 MB, and counts longer ones as invalid without keeping them', () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    const kept = () => (answer as unknown as { keptArguments: number }).keptArguments;
    const megabyte = JSON.stringify({ text: 'x'.repeat(999_980) });
    answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: megabyte.slice(0, 500_000) } }] }));
    answer.read(chunk({ tool_calls: [{ index: 0, function: { arguments: megabyte.slice(500_000) } }] }));
    answer.read(chunk({}, 'tool_calls'));
    expect(collected.toolCalls).toEqual({ ok: 1 });

    for (let part = 0; part < 40; part++) {
      answer.read(chunk({ tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: 'y'.repeat(100_000) } }] }, null, 1));
      expect(kept()).toBeLessThanOrEqual(MAX_KEPT_ARGUMENTS);
    }
    answer.read(chunk({}, 'tool_calls', 1));
    expect(collected.toolCalls).toEqual({ ok: 1, invalid_arguments: 1 });
    expect(kept()).toBe(0);
  });

  it('ignores what is not an answer: wrong types everywhere never throw', () => {
    const { collected, answer } = readerFor(WEATHER_TOOLS);
    const odd: unknown[] = [
      { choices: [{ delta: { tool_calls: 'x' } }] },
      { choices: [{ delta: { tool_calls: [null, 1, { function: 'f' }, { index: 'a', function: { name: 1, arguments: 2 } }] } }] },
      { choices: [{ message: { tool_calls: [{ function: { name: 'get_time' } }] }, finish_reason: ['stop'] }] },
      { type: 'response.output_item.done', item: 'x' },
      { type: 'response.completed', response: null },
      { type: 7 },
      { object: 'response', output: 'x', status: 'completed' },
    ];
    for (const payload of odd) {
      expect(() => answer.read(payload as Record<string, unknown>)).not.toThrow();
    }
    answer.end(true);
    expect(collected.reasons).toEqual(['stop']);
    expect(collected.toolCalls).toEqual({ invalid_arguments: 1, unknown_tool: 1 });
  });
});
