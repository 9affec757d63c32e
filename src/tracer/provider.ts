/**
 * The OTel API face of the tracer: a TracerProvider and a TextMapPropagator that use the same
 * core as the integrations, registered as the OTel globals with the context manager.
 */
import type { Context, TextMapGetter, TextMapPropagator, TextMapSetter, Tracer, TracerProvider } from '@opentelemetry/api';
import { registerWithoutApi, unregisterWithoutApi } from './otel-globals';
import { AlsContextManager, SPAN_KEY } from './context';
import { RemoteSpan, TwTracer, type TracerCore } from './tracer';
import { TwSpan } from './span';
import { logger } from '../internal/logger';

class TwTracerProvider implements TracerProvider {
  readonly tracer: TwTracer;
  constructor(core: TracerCore) {
    this.tracer = new TwTracer(core);
  }
  getTracer(): Tracer {
    return this.tracer;
  }
}

class TwPropagator implements TextMapPropagator {
  constructor(private readonly core: TracerCore) {}

  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const span = ctx.getValue(SPAN_KEY);
    if (span instanceof TwSpan) this.core.inject(span, carrier, (c, k, v) => setter.set(c, k, v));
  }

  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    const found = this.core.propagator.extract(carrier, (c, k) => {
      const v = getter.get(c, k);
      return Array.isArray(v) ? v[0] : v;
    });
    return found === undefined ? ctx : ctx.setValue(SPAN_KEY, new RemoteSpan(found));
  }

  fields(): string[] {
    return this.core.propagator.fields;
  }
}

type Api = typeof import('@opentelemetry/api');

/**
 * Registers context manager, provider and propagator as the OTel globals: written directly
 * while no copy of the API is loaded (otel-globals.ts: start-up without its 44 modules),
 * through the API otherwise.
 */
export function registerGlobals(core: TracerCore): TwTracerProvider {
  const provider = new TwTracerProvider(core);
  const contextManager = new AlsContextManager();
  const propagator = new TwPropagator(core);
  let all = registerWithoutApi({ context: contextManager, trace: provider, propagation: propagator });
  if (all === undefined) {
    const { context, propagation, trace } = require('@opentelemetry/api') as Api;
    all = [context.setGlobalContextManager(contextManager), trace.setGlobalTracerProvider(provider), propagation.setGlobalPropagator(propagator)].every(Boolean);
  }
  if (!all) {
    logger.warn('another OpenTelemetry SDK registered the global tracer provider, context manager or propagator first; spans made through @opentelemetry/api may not reach Tracewell');
  }
  return provider;
}

export function unregisterGlobals(): void {
  if (unregisterWithoutApi()) return;
  const { context, propagation, trace } = require('@opentelemetry/api') as Api;
  trace.disable();
  context.disable();
  propagation.disable();
}
