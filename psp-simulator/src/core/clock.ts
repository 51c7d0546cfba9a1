// The simulator's clock. Tests (and reconciliation scenarios) can move it forward with
// POST /__admin/clock so that objects land on another UTC day; webhook signatures always use
// the real time because the SDK checks them against the receiver's clock.

export class Clock {
  private offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  advance(seconds: number): void {
    this.offsetMs += seconds * 1000;
  }

  offsetSeconds(): number {
    return this.offsetMs / 1000;
  }
}
