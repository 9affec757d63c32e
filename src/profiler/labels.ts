/**
 * Linked mode: every wall sample carries the span that was active when it was taken.
 *
 * Each sample carries a "sample context". We keep it equal to the active span wherever a span
 * becomes active, told by the tracer (tracer/profiler-hooks.ts: every `run` of its context store:
 * server requests, gRPC handlers, `startActiveSpan`, `context.with`). Two ways:
 * - async context frames (Node 24, 26; Node 22 with --experimental-async-context-frame): the
 *   profiler reads the tracer's own store (`FrameWallProfiler`, binding-internals.ts), and the
 *   store holds a holder the profiler made, one per span (`installHolders`); frames follow every
 *   async hop by themselves, and re-entering a span makes nothing.
 * - otherwise (Node 20, 22): the binding samples one "current context" set with
 *   `time.setContext`; the hook reports every `run` and every continuation (an async hook's
 *   `before`, promise hooks included), and the binding is called only when the span changes.
 * (Where the binding's internals cannot be used on Node 24+, `install(true)` sets the context
 * in each run's new frame through the public `setContext`: a holder per activation.)
 * The context value is a small object per span (`SampleContext`: the ids, and the endpoint
 * filled in when the local root ends), made on the span's first activation and kept on it, so
 * switching back to a span allocates nothing. Not the span itself: the binding holds every
 * context it was given through a strong handle until the async context frame (or the sample)
 * that references it is gone and a GC ran, and a span keeps its trace, its attributes and its
 * parent context alive; held that long they were promoted out of the young generation at every
 * request (measured on Node 24 at 3000 req/s: ~11 µs of main-thread CPU per request for the
 * labels alone). Labels are made once per context when a profile is serialized.
 *
 * Nothing here is installed while profiling is off or in line mode.
 */
import { dec64 } from '../tracer/ids';
import type { Context } from '@opentelemetry/api';
import { HOLDS, setActivationHook, setFrameHolders, type ActivationHook, type ProfiledSpan } from '../tracer/profiler-hooks';

export const LABEL_SPAN_ID = 'span id';
export const LABEL_LOCAL_ROOT_SPAN_ID = 'local root span id';
export const LABEL_TRACE_ENDPOINT = 'trace endpoint';

/** The sampled context when no span is active. */
export const NO_SPAN: object = Object.freeze({});

type LabelSet = Record<string, string | number>;

/** The endpoint of one local root, shared by the contexts of its trace's spans. */
class EndpointCell {
  /** Set when the root ends (`rootEnded`). */
  value = '';
  /**
   * The root until it ends, for samples cut while it runs (its route may be known by then).
   * Dropped when it ends, so a finished root is not kept by the contexts the binding holds.
   * Not a WeakRef: on Node 24 the binding keeps each context (and so this cell) until a GC after
   * its async context frame died, and with a WeakRef here linked mode cost twice as much per
   * request (paired at 3000 req/s: +25-31 µs against +13): young-generation collections do not
   * clear WeakRefs, so every root span behind one was, as far as we can tell, kept and promoted.
   */
  root: ProfiledSpan | null;
  constructor(root: ProfiledSpan | null) {
    this.root = root;
  }
}

/** What a sample under a span is labelled with. */
class SampleContext {
  constructor(
    readonly spanHi: number,
    readonly spanLo: number,
    readonly rootHi: number,
    readonly rootLo: number,
    readonly endpoint: EndpointCell,
  ) {}
}

/** On a holder the profiler reads in the tracer's store (frames): its sample context. */
const SAMPLE: unique symbol = Symbol('tracewell.sample');
interface LinkedHolder {
  [HOLDS]: Context;
  [SAMPLE]: SampleContext;
}

/** What `span.profCtx` holds: the span's sample context, or (frames) its holder. */
function sampleIn(known: object): SampleContext {
  return known instanceof SampleContext ? known : (known as LinkedHolder)[SAMPLE];
}

/** The span's sample context, made on first use and kept on the span (with frames, in its holder). */
export function contextOf(span: ProfiledSpan): SampleContext {
  const known = span.profCtx;
  if (known !== null) return sampleIn(known);
  const root = span.localRoot();
  const cell = root === span ? new EndpointCell(span) : contextOf(root).endpoint;
  const c = new SampleContext(span.spanHi, span.spanLo, root.spanHi, root.spanLo, cell);
  span.profCtx = c;
  return c;
}

/** A local root ended: its endpoint (`endpointOf(root)`, which the caller has already) is known for good. */
export function rootEnded(root: ProfiledSpan, endpoint: string): void {
  const known = root.profCtx;
  if (known !== null) {
    const c = sampleIn(known);
    // With frames: the root's holder is held by the frames of its request alone from now on
    // (kept on a finished span waiting for export, it and its native record would outlive the
    // young generation, as every finished root would).
    root.profCtx = c;
    c.endpoint.value = endpoint;
    c.endpoint.root = null;
  }
}

/** The endpoint of a local root: its resource (`GET /users/:id`, `/pkg.Service/Method`) for server spans; '' otherwise. */
export function endpointOf(root: ProfiledSpan): string {
  return root.kind === 1 /* SpanKind.SERVER */ ? root.resource || root.name : '';
}

/** The endpoint a sample taken under `ctx` is labelled with ('' for none: no span, no server root). */
export function endpointLabel(ctx: unknown): string {
  if (!(ctx instanceof SampleContext)) return '';
  const cell = ctx.endpoint;
  return cell.value === '' && cell.root !== null ? endpointOf(cell.root) : cell.value;
}

/** The labels of a sample taken under `ctx` (a SampleContext; anything else, NO_SPAN included: no labels). */
export function labelsOfSpan(ctx: unknown): LabelSet {
  if (!(ctx instanceof SampleContext)) return {};
  const set: LabelSet = { [LABEL_SPAN_ID]: dec64(ctx.spanHi, ctx.spanLo), [LABEL_LOCAL_ROOT_SPAN_ID]: dec64(ctx.rootHi, ctx.rootLo) };
  const endpoint = endpointLabel(ctx);
  if (endpoint !== '') set[LABEL_TRACE_ENDPOINT] = endpoint;
  return set;
}

export class SpanLabeler {
  private installed = false;
  /** Label sets made during one serialization, one per span. */
  private readonly cache = new Map<object, LabelSet>();

  /** `setContext`: the binding's (linked mode) or the span timeline's (span-lines mode). */
  constructor(private readonly setContext: (ctx: object) => void) {}

  /**
   * Frames, where the profiler reads the tracer's own store (`FrameWallProfiler`): a holder per
   * span (`holder(sampleContext)`: the profiler's), made on the span's first activation and kept
   * on it; nothing is set or made per activation after that.
   */
  installHolders(holder: (sample: object) => object): void {
    this.installed = true;
    setFrameHolders((span: ProfiledSpan, ctx: Context) => {
      const sample = contextOf(span);
      const h = holder(sample) as LinkedHolder;
      h[HOLDS] = ctx;
      h[SAMPLE] = sample;
      // Kept on the span while its trace's local root runs (re-entering it then makes nothing).
      if (ctx === (span as unknown) && sample.endpoint.root !== null) span.profCtx = h;
      return h;
    });
  }

  /** `frames`: the binding was started with `useCPED` (async context frames). */
  install(frames: boolean): void {
    const setContext = this.setContext;
    this.installed = true;
    if (frames) {
      // Called inside each new frame: the binding stores the span's context in that frame.
      const inFrame: ActivationHook = { activate: (span) => setContext(span === null ? NO_SPAN : contextOf(span)), restore() {} };
      setActivationHook(inFrame, true);
      return;
    }
    let current: object = NO_SPAN;
    const set = (ctx: object): void => {
      if (ctx !== current) {
        current = ctx;
        setContext(ctx);
      }
    };
    // A synchronous run sets its span for the call and restores the previous one after. At an
    // async continuation nothing is reset after it: consecutive hops of one span then cost a
    // comparison and no call into the binding, and what runs between two callbacks is mostly
    // idle, which carries no wall or CPU time in the profile whatever its label.
    const stack: ActivationHook = {
      activate(span) {
        const prev = current;
        set(span === null ? NO_SPAN : contextOf(span));
        return prev;
      },
      restore(prev) {
        set(prev as object);
      },
    };
    setActivationHook(stack, false);
  }

  uninstall(): void {
    if (this.installed) {
      this.installed = false;
      setActivationHook(null, false);
      setFrameHolders(null);
    }
  }

  /** For the binding's serializer: the labels of one sample's context. */
  readonly labels = ({ context }: { context?: { context?: object } }): LabelSet => {
    const ctx = context?.context;
    if (!(ctx instanceof SampleContext)) return {};
    let set = this.cache.get(ctx);
    if (set === undefined) this.cache.set(ctx, (set = labelsOfSpan(ctx)));
    return set;
  };

  /**
   * The labels of one profile's samples, with a cache of its own: a profile written in slices
   * keeps it until it is done, and the next period's profile never shares it.
   */
  labelsForOneProfile(): (args: { context?: { context?: object } }) => LabelSet {
    const cache = new Map<object, LabelSet>();
    return ({ context }) => {
      const ctx = context?.context;
      if (!(ctx instanceof SampleContext)) return {};
      let set = cache.get(ctx);
      if (set === undefined) cache.set(ctx, (set = labelsOfSpan(ctx)));
      return set;
    };
  }

  /** After a serialization: forget the spans it referenced. */
  clear(): void {
    this.cache.clear();
  }
}
