import { type DynamicModule, Module } from '@nestjs/common';
import { MOCK_ENGINE_OPTIONS, type MockEngineOptions } from './mock-engine.options.js';
import { MockEngineService } from './mock-engine.service.js';

/** Provides the {@link MockEngineService}: `MockEngineModule.register({ models, tokenDelayMs })`. */
@Module({})
export class MockEngineModule {
  /** The engine, configured with `options`. */
  static register(options: MockEngineOptions = {}): DynamicModule {
    return {
      module: MockEngineModule,
      providers: [{ provide: MOCK_ENGINE_OPTIONS, useValue: options }, MockEngineService],
      exports: [MockEngineService],
    };
  }
}
