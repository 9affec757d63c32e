/**
 * The span-making side of an integration whose patch publishes on diagnostics channels: its
 * subscribers, turned on and off together. When one of them throws, the whole integration
 * turns itself off with one message (`TW_INSTRUMENTATION_DISABLED`) and the app goes on
 * untraced by it; the error is counted in `stats().instrumentationErrors`.
 */
import dc = require('node:diagnostics_channel');
import { Codes } from '../../internal/errors';
import { counters } from '../../internal/counters';
import { logger } from '../../internal/logger';

type Handler<T> = (message: T) => void;

export class Subscribers {
  private readonly list: { channel: string; fn: (message: unknown, name: string | symbol) => void }[] = [];
  private on = false;

  /** `onDisable`: what else to undo when the integration turns itself off. */
  constructor(
    private readonly name: string,
    private readonly onDisable?: () => void,
  ) {}

  /** Adds a subscriber (subscribed by `enable()`). */
  add<T>(channel: string, handler: Handler<T>): this {
    const fn = (message: unknown): void => {
      try {
        handler(message as T);
      } catch (err) {
        counters.instrumentationErrors++;
        logger.error(`[${Codes.INSTRUMENTATION_DISABLED}] the ${this.name} integration failed and is now off; the app goes on untraced by it`, err, this.name);
        this.disable();
        this.onDisable?.();
      }
    };
    this.list.push({ channel, fn });
    return this;
  }

  get enabled(): boolean {
    return this.on;
  }

  enable(): void {
    if (this.on) return;
    this.on = true;
    for (const s of this.list) dc.subscribe(s.channel, s.fn);
  }

  disable(): void {
    if (!this.on) return;
    this.on = false;
    for (const s of this.list) dc.unsubscribe(s.channel, s.fn);
  }
}
