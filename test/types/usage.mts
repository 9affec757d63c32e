// Type tests (ESM): the shipped declarations allow what the docs show and refuse misuse.
import { init, getHandle, Codes, type TracewellOptions, type TracewellStats } from 'tracewell';

const options: TracewellOptions = { service: 'svc', env: 'prod', sampleRate: 0.5, propagationInject: ['tracecontext', 'datadog'], logLevel: 'debug' };
const handle = init(options);
const flushed: Promise<void> = handle.flush();
const stats: TracewellStats = handle.stats();
const started: number = stats.spansStarted;
const dropped: number = stats.dropped.bufferFull;
const code: string = Codes.CONFIG_INVALID;
const same = getHandle();
void [flushed, started, dropped, code, same];

// @ts-expect-error sampleRate is a number
init({ sampleRate: 'half' });
// @ts-expect-error an unknown propagation style is refused
init({ propagationExtract: ['zipkin'] });

// An OpenTelemetry SDK span processor fits `spanProcessors` (the SDK is the app's own dependency, not ours).
import { SimpleSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
init({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
// @ts-expect-error a processor needs onEnd, forceFlush and shutdown
init({ spanProcessors: [{ onStart() {} }] });
