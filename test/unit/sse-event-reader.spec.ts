import { jest } from '@jest/globals';
import { type PayloadReader, summarizePayload, usageOfBody } from '../../src/openai/openai-payload.js';
import { SseEventReader } from '../../src/openai/sse-event-reader.js';

/** What a fresh reader makes of one event's data. */
function summarizeEventData(data: string) {
  return new SseEventReader().summarizeEventData(data);
}

const chatChunk = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;

describe('summarizePayload', () => {
  it('counts each choice that carries output as one token', () => {
    expect(summarizePayload({ choices: [{ delta: { content: 'a' } }, { delta: { content: 'b' } }] }).tokens).toBe(2);
    expect(summarizePayload({ choices: [{ text: 'once' }] }).tokens).toBe(1);
    expect(summarizePayload({ choices: [{ delta: { tool_calls: [{ index: 0 }] } }] }).tokens).toBe(1);
    expect(summarizePayload({ choices: [{ delta: { reasoning_content: 'hm' } }] }).tokens).toBe(1);
    expect(summarizePayload({ type: 'response.output_text.delta', delta: 'hi' }).tokens).toBe(1);
  });

  it('counts no token for role-only, empty and finish chunks', () => {
    expect(summarizePayload({ choices: [{ delta: { role: 'assistant', content: '' } }] }).tokens).toBe(0);
    expect(summarizePayload({ choices: [{ delta: {}, finish_reason: 'stop' }] }).tokens).toBe(0);
    expect(summarizePayload({ choices: [] }).tokens).toBe(0);
    expect(summarizePayload('text').tokens).toBe(0);
    expect(summarizePayload(null).tokens).toBe(0);
  });

  it('reads valid usage counts, OpenAI and Responses API names alike', () => {
    expect(summarizePayload({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }).usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 4,
    });
    expect(summarizePayload({ type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 6 } } }).usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 6,
    });
    expect(summarizePayload({ usage: { prompt_tokens: -1, completion_tokens: 'many' } }).usage).toBeUndefined();
    expect(summarizePayload({ usage: { prompt_tokens: 8 } }).usage).toEqual({ prompt_tokens: 8 });
  });
});

describe('usageOfBody (a unary answer)', () => {
  const answer = {
    id: 'chatcmpl-1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'héllo 🚀 "usage" in text' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 7 },
  };

  it('reads the usage of a body as text and as UTF-8 bytes alike', () => {
    const text = JSON.stringify(answer);
    expect(usageOfBody(text)).toEqual({ prompt_tokens: 12, completion_tokens: 7 });
    expect(usageOfBody(Buffer.from(text, 'utf8'))).toEqual({ prompt_tokens: 12, completion_tokens: 7 });
    expect(usageOfBody(new Uint8Array(Buffer.from(`  ${text}`, 'utf8')).subarray(2))).toEqual({ prompt_tokens: 12, completion_tokens: 7 });
  });

  it('parses a body that names no usage only for an answer reader, which then reads its choices', () => {
    const read = jest.fn<PayloadReader['read']>();
    const body = Buffer.from(JSON.stringify({ choices: [{ index: 0, message: { content: 'ünïcode' }, finish_reason: 'length' }] }));
    expect(usageOfBody(body)).toBeUndefined();
    expect(read).not.toHaveBeenCalled();
    expect(usageOfBody(body, { read })).toBeUndefined();
    expect(read).toHaveBeenCalledWith(expect.objectContaining({ choices: [expect.objectContaining({ finish_reason: 'length' })] }));
    expect(usageOfBody(Buffer.from('{"model":"m","ok":true}'), { read })).toBeUndefined();
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('reads nothing of a body that is not JSON', () => {
    expect(usageOfBody('"usage" but not JSON')).toBeUndefined();
    expect(usageOfBody(Buffer.from([0xff, 0xfe, 0x22]))).toBeUndefined();
  });
});

describe('SseEventReader', () => {
  it('summarizes the events a chunk completes, several at once', () => {
    const reader = new SseEventReader();
    expect(reader.read(chatChunk('a') + chatChunk('b') + chatChunk('c')).tokens).toBe(3);
  });

  it('waits for the end of an event split across chunks, bytes included', () => {
    const reader = new SseEventReader();
    const bytes = Buffer.from(chatChunk('héllo'));
    const cut = bytes.indexOf(0xa9); // inside the two bytes of "é"
    expect(reader.read(bytes.subarray(0, cut)).tokens).toBe(0);
    expect(reader.read(bytes.subarray(cut)).tokens).toBe(1);
  });

  it('ignores [DONE], comments, other fields and data that is not JSON', () => {
    const reader = new SseEventReader();
    const summary = reader.read(': keep-alive\n\nevent: ping\nid: 4\ndata: not json\n\ndata: [DONE]\n\n');
    expect(summary).toEqual({ tokens: 0, content: 0 });
  });

  it('reads an event whose data lines join to something else than the first line', () => {
    // The first line alone is a chunk with output; the event's data is both lines, which is not JSON.
    const twoLines = 'data: {"choices":[{"delta":{"content":"x"}}]}\ndata: [1]\n\n';
    expect(new SseEventReader().read(twoLines)).toEqual({ tokens: 0, content: 0 });
    expect(summarizeEventData('{"choices":[{"delta":{"content":"x"}}]}\n[1]')).toEqual({ tokens: 0, content: 0 });
  });

  it('accepts CRLF line ends and data without a space after the colon', () => {
    const reader = new SseEventReader();
    expect(reader.read('data:{"choices":[{"delta":{"content":"x"}}]}\r\n\r\n').tokens).toBe(1);
  });

  it('reads the chunks of a stream that asked for its usage, "usage":null until the last, without parsing them', () => {
    const parse = jest.spyOn(JSON, 'parse');
    const reader = new SseEventReader();
    const chunk = `data: ${JSON.stringify({ id: 'chatcmpl-1', model: 'm', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }], usage: null })}\n\n`;
    expect([reader.read(chunk), reader.read(chunk)]).toEqual([
      { tokens: 1, content: 1 },
      { tokens: 1, content: 1 },
    ]);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
  });

  it('reads the usage of an include_usage chunk', () => {
    const reader = new SseEventReader();
    const summary = reader.read(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 20 } })}\n\n`);
    expect(summary).toEqual({ tokens: 0, content: 0, usage: { prompt_tokens: 10, completion_tokens: 20 } });
  });

  it('does not hold on to a body that is not SSE', () => {
    const reader = new SseEventReader();
    for (let i = 0; i < 5; i++) {
      reader.read('x'.repeat(600_000));
    }
    expect((reader as unknown as { pending: string }).pending.length).toBeLessThanOrEqual(1 << 20);
    expect(reader.read('\n' + chatChunk('after')).tokens).toBe(1);
  });
});

describe('SseEventReader.summarizeEventData (the SSE hot path)', () => {
  const corpus: unknown[] = [
    { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hello' } }] },
    { id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
    { id: 'c', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }] },
    { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    { id: 'c', choices: [] },
    { id: 'c', choices: [], usage: { prompt_tokens: 4, completion_tokens: 9 } },
    {
      id: 'c',
      choices: [
        { index: 0, delta: { content: 'a' } },
        { index: 1, delta: { content: 'b' } },
      ],
    },
    {
      id: 'c',
      choices: [
        { index: 0, delta: { content: '' } },
        { index: 1, delta: { content: 'b' } },
      ],
    },
    { id: 'c', choices: [{ index: 0, delta: { content: 'a', reasoning_content: 'r' } }] },
    { id: 'c', choices: [{ index: 0, delta: { reasoning_content: 'thinking' } }] },
    { id: 'c', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{' } }] } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'x' }] } }] },
    { id: 'c', choices: [{ index: 0, text: 'once' }] },
    { id: 'c', choices: [{ index: 0, text: '' }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 'with "quotes" and \\"content\\":\\"x' } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: '"content":"inner' } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 'a' }, logprobs: { content: [{ token: 'a', logprob: -1 }] } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: '[1, 2]' } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 's":[' } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 'x' } }], note: '"choices":[' },
    { id: 'c', choices: [{ index: 0, delta: { content: 'line\nbreak' } }] },
    {
      id: 'c',
      choices: [
        { index: 0, delta: { content: '[' } },
        { index: 1, delta: { content: '[' } },
      ],
    },
    // OpenAI's chunks of a stream that asked for its usage (stream_options.include_usage): null until the last.
    {
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1694268190,
      model: 'gpt-4o-mini',
      system_fingerprint: 'fp_1',
      choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null }],
      usage: null,
    },
    { id: 'c', usage: null, choices: [{ index: 0, delta: { content: 'Hi' } }] },
    { id: 'c', choices: [], usage: { prompt_tokens: 4, completion_tokens: 9, note: null } },
    { id: 'c', choices: [{ index: 0, delta: { content: '"usage":1' } }], usage: null },
    { type: 'response.output_text.delta', delta: 'hi' },
    { type: 'response.completed', response: { usage: { input_tokens: 5, output_tokens: 6 } } },
    { error: { message: 'overloaded' } },
    // Reasoning models: vLLM and DeepSeek's reasoning_content, vLLM and OpenRouter's reasoning, content null meanwhile.
    { id: 'c', choices: [{ index: 0, delta: { reasoning_content: 'Let me think', content: null }, finish_reason: null }] },
    { id: 'c', choices: [{ index: 0, delta: { reasoning: 'hmm', content: null }, finish_reason: null }] },
    { id: 'c', choices: [{ index: 0, delta: { reasoning: '' } }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 'the reasoning_content":"x' } }] },
    { id: 'c', choices: [{ index: 0, delta: { refusal: 'I cannot' } }] },
    { id: 'c', choices: [{ index: 0, delta: { function_call: { name: 'f', arguments: '' } } }] },
    { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] },
    { id: 'c', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }] },
    {
      id: 'c',
      choices: [
        { index: 0, delta: { reasoning_content: 'a' } },
        { index: 1, delta: { content: 'b' } },
      ],
    },
    { type: 'response.reasoning_text.delta', delta: 'thinking' },
    { type: 'response.reasoning_summary_text.delta', delta: 'summary' },
    { type: 'response.function_call_arguments.delta', delta: '{"a"' },
    { type: 'response.refusal.delta', delta: 'no' },
  ];

  it.each(corpus.map((payload) => [JSON.stringify(payload)]))('agrees with parsing %s in full', (data) => {
    expect(summarizeEventData(data)).toEqual(summarizePayload(JSON.parse(data)));
  });

  it.each(corpus.map((payload) => [JSON.stringify(payload, null, 2)]))('agrees with parsing the multi-line %s in full', (data) => {
    expect(summarizeEventData(data)).toEqual(summarizePayload(JSON.parse(data)));
  });

  it.each(corpus.map((payload) => [JSON.stringify(payload)]))('reads the one-event chunk of %s as parsing it would', (data) => {
    expect(new SseEventReader().read(`data: ${data}\n\n`)).toEqual(summarizePayload(JSON.parse(data)));
    const multiLine = JSON.stringify(JSON.parse(data), null, 2)
      .split('\n')
      .map((line) => `data: ${line}\n`)
      .join('');
    expect(new SseEventReader().read(`${multiLine}\n`)).toEqual(summarizePayload(JSON.parse(data)));
  });

  it('reads each chunk after any other as parsing it would', () => {
    const prefixed = corpus.map((payload) => ({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'm',
      ...(payload as object),
    }));
    for (const first of [...corpus, ...prefixed]) {
      for (const second of [...corpus, ...prefixed]) {
        const reader = new SseEventReader();
        reader.read(`data: ${JSON.stringify(first)}\n\n`);
        const data = JSON.stringify(second);
        expect({ first, second, summary: reader.read(`data: ${data}\n\n`) }).toEqual({ first, second, summary: summarizePayload(second) });
      }
    }
  });

  it('tells reasoning from content without parsing: only a chunk a full parse is needed for is parsed', () => {
    const parse = jest.spyOn(JSON, 'parse');
    const chunk = (delta: object) => `data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    const reader = new SseEventReader();
    expect(reader.read(chunk({ reasoning_content: 'thinking', content: null }))).toEqual({ tokens: 1, content: 0 });
    expect(reader.read(chunk({ reasoning: 'more' }))).toEqual({ tokens: 1, content: 0 });
    expect(reader.read(chunk({ content: 'answer' }))).toEqual({ tokens: 1, content: 1 });
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
  });

  it("parses every chunk that holds a finish reason or a tool call, so that the answer's reader sees it", () => {
    const payloads = corpus.filter((payload) => /finish_reason":"|tool_calls|function_call|response\./.test(JSON.stringify(payload)));
    expect(payloads.length).toBeGreaterThan(5);
    for (const payload of payloads) {
      const read: unknown[] = [];
      new SseEventReader({ read: (parsed) => read.push(parsed) }).read(`data: ${JSON.stringify(payload)}\n\n`);
      expect(read).toEqual([payload]);
    }
  });

  it('reads [DONE] and non-JSON data as nothing', () => {
    expect(summarizeEventData('[DONE]')).toEqual({ tokens: 0, content: 0 });
    expect(summarizeEventData('{not json')).toEqual({ tokens: 0, content: 0 });
  });
});
