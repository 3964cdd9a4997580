import { Body, Controller, HttpCode, Post, applyDecorators } from '@nestjs/common';
import { Endpoint, TrackLlm } from '../../src/index.js';

/** A composite route decorator, the composition NestJS's documentation teaches. */
export const ChatRoute = (path: string) => applyDecorators(Post(path), HttpCode(200), TrackLlm(Endpoint.ChatCompletions));

type Handler = (...args: unknown[]) => unknown;

/** Copies the metadata of `from` onto `to`, as Nest-aware wrapping decorators do. */
function copyMetadata(from: object, to: object): void {
  for (const key of Reflect.getOwnMetadataKeys(from)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, from), to);
  }
}

/**
 * A tracing decorator as OpenTelemetry helpers write them: wraps the method
 * in a named function that records a span, and carries the method's
 * metadata over to the wrapper.
 */
export function Traced(spans: string[]): MethodDecorator {
  return (_target, key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Handler;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      spans.push(String(key));
      return original.apply(this, args);
    };
    copyMetadata(original, wrapper);
    Object.defineProperty(wrapper, 'name', { value: original.name });
    descriptor.value = wrapper;
  };
}

/** A context decorator written with a `Proxy` (as async-context libraries do): the same function to every reader, its calls intercepted. */
export function InContext(calls: string[]): MethodDecorator {
  return (_target, key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Handler;
    const proxy = new Proxy(original, {
      apply(target, thisArg, args) {
        calls.push(String(key));
        return Reflect.apply(target, thisArg, args);
      },
    });
    copyMetadata(original, proxy);
    descriptor.value = proxy;
  };
}

/** A wrapper that replaces the method by an anonymous function and carries its metadata over. */
export function Anonymously(): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Handler;
    const anonymous = [
      function (this: unknown, ...args: unknown[]) {
        return original.apply(this, args);
      },
    ][0];
    copyMetadata(original, anonymous);
    descriptor.value = anonymous;
  };
}

/** What the tracing-style decorators saw, for the tests to read. */
export const observedCalls = { spans: [] as string[], contexts: [] as string[] };

/** Every way users compose `@TrackLlm()` with other decorators. */
@Controller('composed')
export class ComposedRoutesController {
  @ChatRoute('composite')
  composite(@Body() body: { model: string }) {
    return { route: 'composite', model: body.model };
  }

  @Traced(observedCalls.spans)
  @ChatRoute('traced-above')
  tracedAbove(@Body() body: { model: string }) {
    return { route: 'traced-above', model: body.model };
  }

  @ChatRoute('traced-below')
  @Traced(observedCalls.spans)
  tracedBelow(@Body() body: { model: string }) {
    return { route: 'traced-below', model: body.model };
  }

  @InContext(observedCalls.contexts)
  @ChatRoute('proxy-above')
  proxyAbove(@Body() body: { model: string }) {
    return { route: 'proxy-above', model: body.model };
  }

  @ChatRoute('proxy-below')
  @InContext(observedCalls.contexts)
  proxyBelow(@Body() body: { model: string }) {
    return { route: 'proxy-below', model: body.model };
  }

  @Anonymously()
  @ChatRoute('anonymous')
  anonymous(@Body() body: { model: string }) {
    return { route: 'anonymous', model: body.model };
  }
}

/**
 * Decorated as plain functions whose return values are ignored, as a
 * JavaScript codebase or a helper applying decorators by hand does.
 */
export class PlainlyDecoratedController {
  chat(body: { model: string }) {
    return { route: 'plain', model: body.model };
  }
}
const chatDescriptor = Object.getOwnPropertyDescriptor(PlainlyDecoratedController.prototype, 'chat') as PropertyDescriptor;
Post('chat')(PlainlyDecoratedController.prototype, 'chat', chatDescriptor);
HttpCode(200)(PlainlyDecoratedController.prototype, 'chat', chatDescriptor);
TrackLlm(Endpoint.Completions)(PlainlyDecoratedController.prototype, 'chat', chatDescriptor);
Body()(PlainlyDecoratedController.prototype, 'chat', 0);
Controller('plainly')(PlainlyDecoratedController);

/** A base every LLM controller of an app extends: its route and class-level `@TrackLlm()` are inherited. */
@TrackLlm(Endpoint.Completions)
export abstract class LlmBaseController {
  @Post('inherited')
  @HttpCode(200)
  inherited(@Body() body: { model: string }) {
    return { route: 'inherited', model: body.model };
  }

  @Post('redeclared')
  @HttpCode(200)
  redeclared(@Body() body: { model: string }) {
    return { route: 'base', model: body.model };
  }
}

/** Adds a route, redeclares one, and overrides the class-level endpoint on a third. */
@Controller('derived')
export class DerivedController extends LlmBaseController {
  @Post('added')
  @HttpCode(200)
  added(@Body() body: { model: string }) {
    return { route: 'added', model: body.model };
  }

  @Post('redeclared')
  @HttpCode(200)
  override redeclared(@Body() body: { model: string }) {
    return { route: 'derived', model: body.model };
  }

  @Post('embeddings')
  @HttpCode(200)
  @TrackLlm(Endpoint.Embeddings)
  embeddings(@Body() body: { model: string }) {
    return { route: 'embeddings', model: body.model };
  }
}
