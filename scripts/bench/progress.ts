// A progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise.

export interface Progress {
  /** Extra text after the bar (e.g. current rate). */
  update(detail: string): void;
  done(summary?: string): void;
}

const BAR_WIDTH = 30;
const PLAIN_INTERVAL_MS = 5_000;
const TTY_INTERVAL_MS = 250;

export function progress(label: string, durationMs: number): Progress {
  const startedAt = Date.now();
  const tty = Boolean(process.stderr.isTTY);
  let detail = '';
  let finished = false;
  const render = () => {
    const elapsed = Date.now() - startedAt;
    const fraction = Math.min(1, durationMs > 0 ? elapsed / durationMs : 1);
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
    const text = `${label.padEnd(28)} ${bar} ${String(Math.round(elapsed / 1000)).padStart(3)}/${Math.round(durationMs / 1000)} s  ${detail}`;
    if (tty) process.stderr.write(`\r${text.slice(0, (process.stderr.columns || 160) - 1).padEnd((process.stderr.columns || 160) - 1)}`);
    else process.stderr.write(`${text}\n`);
  };
  const timer = setInterval(render, tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS);
  timer.unref();
  return {
    update(next: string) {
      detail = next;
    },
    done(summary?: string) {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      if (summary !== undefined) detail = summary;
      render();
      if (tty) process.stderr.write('\n');
    },
  };
}

export function say(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}
