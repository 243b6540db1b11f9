/** The part of `document` the poller reads: whether the page is shown, and when that changes. */
export type VisibilitySource = Pick<Document, "visibilityState" | "addEventListener" | "removeEventListener">;

export interface HandoffPollerOptions {
  /** One look for new messages; a rejection counts as a failed look. */
  look: () => Promise<void>;
  /** After each look: how many looks in a row have failed (0 after one that worked). */
  onLooked: (failuresInARow: number) => void;
  /** Milliseconds between the end of one look and the start of the next. */
  intervalMs: number;
  /** Looks wait while this says the page is hidden; null (or no document) looks whatever the page does. */
  visibility?: VisibilitySource | null;
}

function defaultVisibility(): VisibilitySource | null {
  return typeof document === "undefined" ? null : document;
}

/**
 * Looks for a person's messages every few seconds while it runs: one look at a time, none while paused (nothing
 * shows the conversation) or while the page is hidden, and one at once when the page is shown again.
 */
export class HandoffPoller {
  private intervalMs: number;
  private readonly visibility: VisibilitySource | null;
  private running = false;
  private paused = false;
  private looking = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;

  constructor(private readonly options: HandoffPollerOptions) {
    this.intervalMs = options.intervalMs;
    this.visibility = options.visibility === undefined ? defaultVisibility() : options.visibility;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Begin looking (the first look after one interval); does nothing when already running. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.failures = 0;
    this.visibility?.addEventListener("visibilitychange", this.onVisibility);
    this.schedule(this.intervalMs);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.visibility?.removeEventListener("visibilitychange", this.onVisibility);
    this.clear();
  }

  /** No looks until resume(); a look on its way still ends. */
  pause(): void {
    this.paused = true;
    this.clear();
  }

  /** Look again, at once: what was said while nothing showed the conversation is shown without a wait. */
  resume(): void {
    this.paused = false;
    this.schedule(0);
  }

  /** Look now instead of at the next tick (something may have changed, a withdrawal refused, say). */
  lookNow(): void {
    this.clear();
    this.schedule(0);
  }

  setInterval(ms: number): void {
    this.intervalMs = ms;
  }

  private readonly onVisibility = (): void => {
    if (this.visibility?.visibilityState === "hidden") this.clear();
    else this.schedule(0);
  };

  private hidden(): boolean {
    return this.visibility?.visibilityState === "hidden";
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(delay: number): void {
    if (!this.running || this.paused || this.looking || this.timer !== null || this.hidden()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delay);
  }

  private async tick(): Promise<void> {
    if (!this.running || this.paused || this.hidden()) return;
    this.looking = true;
    try {
      await this.options.look();
      this.failures = 0;
    } catch {
      this.failures += 1;
    } finally {
      this.looking = false;
    }
    if (!this.running) return;
    this.options.onLooked(this.failures);
    this.schedule(this.intervalMs);
  }
}
