import { Endpoint, REQUEST_STATUS_ERROR, REQUEST_STATUS_SUCCESS, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY, RequestType, Status, TRACK_LLM_METADATA, TrackLlm } from '../../src/index.js';

describe('labels and @TrackLlm()', () => {
  it('exports the label values of the 0.2.1 schema, and the later endpoints', () => {
    expect(Endpoint).toEqual({
      Completions: 'completions',
      ChatCompletions: 'chat_completions',
      Embeddings: 'embeddings',
      Responses: 'responses',
    });
    expect(RequestType).toEqual({ Unary: 'unary', Stream: 'stream' });
    expect(Status).toEqual({ Success: 'success', Error: 'error' });
    expect([REQUEST_STATUS_SUCCESS, REQUEST_STATUS_ERROR, REQUEST_TYPE_STREAM, REQUEST_TYPE_UNARY]).toEqual([
      'success',
      'error',
      'stream',
      'unary',
    ]);
  });

  it('stores the endpoint on the method it decorates', () => {
    class Controller {
      @TrackLlm(Endpoint.ChatCompletions)
      chat() {}
    }
    expect(Reflect.getMetadata(TRACK_LLM_METADATA, Controller.prototype.chat)).toBe('chat_completions');
  });

  it.each(['', 'Chat', 'chat-completions', '1chat', 'a b', 42])('rejects the endpoint %j when decorating, naming it', (endpoint) => {
    expect(() => TrackLlm(endpoint as string)).toThrow(TypeError);
    expect(() => TrackLlm(endpoint as string)).toThrow(JSON.stringify(endpoint));
  });
});
