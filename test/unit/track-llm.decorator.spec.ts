import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import {
  Endpoint,
  LlmMetricsInterceptor,
  REQUEST_STATUS_ERROR,
  REQUEST_STATUS_SUCCESS,
  REQUEST_TYPE_STREAM,
  REQUEST_TYPE_UNARY,
  RequestType,
  Status,
  TRACK_LLM_METADATA,
  TrackLlm,
} from '../../src/index.js';

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

  it('is metadata only: the method stays the same function, LlmMetricsInterceptor bound to it, nothing returned', () => {
    class Controller {
      chat(body: unknown) {
        return body;
      }
    }
    const original = Controller.prototype.chat;
    const descriptor = Object.getOwnPropertyDescriptor(Controller.prototype, 'chat') as PropertyDescriptor;
    expect(TrackLlm(Endpoint.Completions)(Controller.prototype, 'chat', descriptor)).toBeUndefined();
    expect(descriptor.value).toBe(original);
    expect(Controller.prototype.chat).toBe(original);
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, original)).toEqual([LlmMetricsInterceptor]);
    expect(Reflect.getMetadata(TRACK_LLM_METADATA, original)).toBe('completions');
  });

  it('on a class, stores the endpoint and binds the interceptor on the class', () => {
    @TrackLlm(Endpoint.Embeddings)
    class Controller {}
    expect(Reflect.getMetadata(TRACK_LLM_METADATA, Controller)).toBe('embeddings');
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, Controller)).toEqual([LlmMetricsInterceptor]);
  });

  it.each(['', 'Chat', 'chat-completions', '1chat', 'a b', 42])('rejects the endpoint %j when decorating, naming it', (endpoint) => {
    expect(() => TrackLlm(endpoint as string)).toThrow(TypeError);
    expect(() => TrackLlm(endpoint as string)).toThrow(JSON.stringify(endpoint));
  });
});
