const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A progress line on stderr, redrawn in place, for a terminal only: piped or redirected stderr gets
 * nothing (no escape codes in logs). `stop()` erases it, so output that follows starts clean.
 */
export class Spinner {
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;

  constructor(
    private text: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = Boolean(stream.isTTY),
  ) {}

  start(): this {
    if (!this.enabled || this.timer) return this;
    this.draw();
    this.timer = setInterval(() => this.draw(), 80);
    return this;
  }

  update(text: string): void {
    this.text = text;
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    this.stream.write(`\r\x1b[K${FRAMES[this.frame++ % FRAMES.length]} ${this.text}`);
  }
}
