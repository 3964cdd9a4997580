import { CacheInterceptor, CacheKey } from '@nestjs/cache-manager';
import {
  Body,
  type CallHandler,
  ClassSerializerInterceptor,
  Controller,
  type ExecutionContext,
  HttpCode,
  Injectable,
  type NestInterceptor,
  Post,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Exclude } from 'class-transformer';
import { IsArray, IsBoolean, IsOptional, IsString } from 'class-validator';
import { type Observable, map } from 'rxjs';
import { Endpoint, TrackLlm } from '../../src/index.js';

/** A chat request as a `class-validator` DTO. */
export class ChatRequestDto {
  @ApiProperty()
  @IsString()
  model!: string;

  @ApiProperty({ type: 'array', items: { type: 'object' } })
  @IsArray()
  messages!: unknown[];

  @ApiProperty({ required: false })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}

/** A chat completion as an entity `ClassSerializerInterceptor` serializes. */
export class ChatCompletionEntity {
  @ApiProperty()
  model: string;

  @ApiProperty()
  content: string;

  /** Never sent to the client. */
  @Exclude()
  engineNode: string;

  constructor(model: string, content: string) {
    this.model = model;
    this.content = content;
    this.engineNode = 'gpu-node-7';
  }
}

/** The chat route of an app that validates its bodies with a global `ValidationPipe`. */
@ApiTags('chat')
@Controller('v1')
export class ValidatedChatController {
  handled = 0;

  @Post('chat/completions')
  @HttpCode(200)
  @ApiOkResponse({ type: ChatCompletionEntity })
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: ChatRequestDto) {
    this.handled += 1;
    return { model: body.model, messages: body.messages.length };
  }
}

/** The same chat route with or without `@TrackLlm()`: twins whose OpenAPI documents are compared. */
export function documentedChatController(tracked: boolean) {
  @ApiTags('chat')
  @Controller('v1')
  class ChatController {
    @Post('chat/completions')
    @HttpCode(200)
    @ApiOkResponse({ type: ChatCompletionEntity })
    @applyDecorators(...(tracked ? [TrackLlm(Endpoint.ChatCompletions)] : []))
    chat(@Body() body: ChatRequestDto) {
      return { model: body.model, messages: body.messages.length };
    }
  }
  return ChatController;
}

/** A route whose answers `@nestjs/cache-manager` caches per model, its interceptor after `@TrackLlm()`'s. */
@Controller('cached')
export class CachedChatController {
  handled = 0;

  @Post()
  @HttpCode(200)
  @UseInterceptors(CacheInterceptor)
  @CacheKey((context: ExecutionContext) => `chat:${context.switchToHttp().getRequest<{ body: { model: string } }>().body.model}`)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    this.handled += 1;
    return { model: body.model, handled: this.handled };
  }
}

/** A route serialized by `ClassSerializerInterceptor`. */
@Controller('serialized')
export class SerializedChatController {
  @Post()
  @HttpCode(200)
  @UseInterceptors(ClassSerializerInterceptor)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    return new ChatCompletionEntity(body.model, 'hello');
  }
}

/** A global interceptor that wraps every answer in an envelope. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data: unknown) => ({ data })));
  }
}

/** A plain tracked chat route. */
@Controller('chat')
export class PlainChatController {
  @Post()
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model: string }) {
    return { model: body.model };
  }
}
