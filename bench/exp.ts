import 'reflect-metadata';
import { Body, type CanActivate, Controller, HttpCode, Injectable, Module, type PipeTransform, Post, Req, Res, UseGuards, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { of } from 'rxjs';
import { createInjectableApp, timeRoutes } from './support/bench-app.js';
import { spread } from './support/rounds.js';

@Injectable()
class TrueGuard implements CanActivate { canActivate() { return true; } }
@Injectable()
class IdPipe implements PipeTransform { transform(v: unknown) { return v; } }
const Custom = createParamDecorator((_d: unknown, ctx: ExecutionContext) => ctx.switchToHttp().getRequest());

@Controller()
class ExpController {
  @Post('undecorated') @HttpCode(200)
  undecorated(@Body() body: { model: string }) { return of({ model: body.model, ok: true }); }
  @Post('guard') @HttpCode(200) @UseGuards(TrueGuard)
  guard(@Body() body: { model: string }) { return of({ model: body.model, ok: true }); }
  @Post('reqparam') @HttpCode(200)
  reqparam(@Body() body: { model: string }, @Req() _req: unknown) { return of({ model: body.model, ok: true }); }
  @Post('custom') @HttpCode(200)
  custom(@Body() body: { model: string }, @Custom() _req: unknown) { return of({ model: body.model, ok: true }); }
  @Post('pipeparam') @HttpCode(200)
  pipeparam(@Body() body: { model: string }, @Custom(IdPipe) _req: unknown) { return of({ model: body.model, ok: true }); }
  @Post('listener') @HttpCode(200)
  listener(@Body() body: { model: string }, @Req() req: { raw?: unknown; res?: unknown }) {
    const res = ((req as any).raw ?? req) as NodeJS.EventEmitter;
    res.once('close', () => {});
    return of({ model: body.model, ok: true });
  }
}
@Module({ controllers: [ExpController], providers: [TrueGuard, IdPipe] })
class ExpModule {}

const V = ['undecorated', 'guard', 'reqparam', 'custom', 'pipeparam', 'listener'] as const;
for (const adapter of ['express', 'fastify'] as const) {
  const { app, request } = await createInjectableApp(ExpModule, adapter);
  const r = await timeRoutes(request, V, { rounds: 31, perRound: 2000, payload: { model: 'm' } });
  await app.close();
  console.log(adapter);
  for (const v of V) console.log(v.padEnd(12), spread(r[v]), (r.undecorated.median / r[v].median).toFixed(3));
}
