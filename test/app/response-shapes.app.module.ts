import { type DynamicModule, Module } from '@nestjs/common';
import { LlmMetricsModule, type LlmMetricsModuleExtras, type LlmMetricsModuleOptions } from '../../src/index.js';
import { ClassTrackedController } from './class-tracked.controller.js';
import { ResponseShapesController } from './response-shapes.controller.js';

/** A fixture app with every response shape and the class-level decorator. */
@Module({})
export class ResponseShapesAppModule {
  static register(options: LlmMetricsModuleOptions & LlmMetricsModuleExtras = {}): DynamicModule {
    return {
      module: ResponseShapesAppModule,
      imports: [LlmMetricsModule.forRoot(options)],
      controllers: [ResponseShapesController, ClassTrackedController],
    };
  }
}
