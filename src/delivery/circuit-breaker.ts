/**
 * The export circuit. Closed: payloads are sent. After `failures` failed attempts in a row it
 * opens: nothing is sent per flush (payloads go straight to the dead-letter file) and the
 * agent is probed on a backoff schedule (base, doubled per failed probe with jitter, capped).
 * A probe that gets an answer closes it. A 429/503 with `Retry-After` holds sends until then
 * without opening. Every timer is unref'd.
 */
type CircuitState = 'closed' | 'open' | 'half-open';

interface CircuitOptions {
  failures: number;
  probeBaseMs: number;
  probeMaxMs: number;
  /** Resolves true when the agent answered (it is reachable again). Never rejects. */
  probe(): Promise<boolean>;
  onOpen(reason: string): void;
  onClose(): void;
  /** Every change of state (for `stats().circuit`). */
  onState?(state: CircuitState): void;
}

export class CircuitBreaker {
  private state: CircuitState = 'closed';
  private consecutive = 0;
  private nextProbeMs: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Epoch ms before which nothing should be sent (Retry-After). */
  holdUntil = 0;

  constructor(private readonly opts: CircuitOptions) {
    this.nextProbeMs = opts.probeBaseMs;
  }

  get current(): CircuitState {
    return this.state;
  }

  /** True when payloads may be sent now. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  success(): void {
    this.consecutive = 0;
    if (this.state !== 'closed') this.close();
  }

  failure(reason: string, retryAfterMs = -1): void {
    if (retryAfterMs > 0) this.holdUntil = Math.max(this.holdUntil, Date.now() + retryAfterMs);
    this.consecutive++;
    if (this.state === 'closed' && this.consecutive >= this.opts.failures) this.open(reason);
  }

  /** Opens now (e.g. the agent's host does not resolve). */
  open(reason: string): void {
    if (this.state !== 'closed' || this.stopped) return;
    this.set('open');
    this.nextProbeMs = this.opts.probeBaseMs;
    this.schedule();
    this.opts.onOpen(reason);
  }

  private close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.set('closed');
    this.consecutive = 0;
    this.nextProbeMs = this.opts.probeBaseMs;
    this.opts.onClose();
  }

  private set(state: CircuitState): void {
    this.state = state;
    this.opts.onState?.(state);
  }

  private schedule(): void {
    if (this.stopped) return;
    const d = this.nextProbeMs;
    this.nextProbeMs = Math.min(this.opts.probeMaxMs, this.nextProbeMs * 2);
    // Jitter: 75-125% of the step, so a fleet restarted together does not probe in step.
    const wait = Math.max(1, Math.round(d * (0.75 + Math.random() * 0.5)));
    this.timer = setTimeout(() => void this.probeNow(), wait);
    this.timer.unref();
  }

  /** Probes now (also called when a shutdown wants a last chance). */
  async probeNow(): Promise<boolean> {
    if (this.state !== 'open' || this.stopped) return this.state === 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.set('half-open');
    let ok = false;
    try {
      ok = await this.opts.probe();
    } catch {
      ok = false;
    }
    if (this.stopped) return ok;
    if (ok) this.close();
    else {
      this.set('open');
      this.schedule();
    }
    return ok;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
