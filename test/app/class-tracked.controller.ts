import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Endpoint, TrackLlm } from '../../src/index.js';

/** `@TrackLlm()` on a whole controller; a method's own decorator wins. */
@Controller('class-tracked')
@TrackLlm(Endpoint.Completions)
export class ClassTrackedController {
  @Post('inherits')
  @HttpCode(200)
  inherits(@Body() body: { model?: string }) {
    return { model: body.model };
  }

  @Post('overrides')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  overrides(@Body() body: { model?: string }) {
    return { model: body.model };
  }
}
