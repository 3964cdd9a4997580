import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { Endpoint, TrackLlm } from '../../src/index.js';

/** A minimal tracked route in a feature module that does not import LlmMetricsModule. */
@Controller('v1')
export class ChatController {
  @Post('chat/completions')
  @HttpCode(200)
  @TrackLlm(Endpoint.ChatCompletions)
  chat(@Body() body: { model?: unknown }) {
    return { object: 'chat.completion', model: body.model };
  }
}

@Module({ controllers: [ChatController] })
export class ChatFeatureModule {}
