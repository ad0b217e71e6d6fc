export type RandomStream = 'errors' | 'latency' | 'late' | 'lag' | 'approval';
const STREAMS: readonly RandomStream[] = ['errors', 'latency', 'late', 'lag', 'approval'];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One generator per stream: approval outcomes depend only on the order of creations, not on error draws.
export class SimRandom {
  private streams = new Map<RandomStream, () => number>();
  private currentSeed: number | null = null;

  constructor(seed: number | null) {
    this.reseed(seed);
  }

  get seed(): number | null {
    return this.currentSeed;
  }

  reseed(seed: number | null): void {
    this.currentSeed = seed;
    this.streams.clear();
    if (seed === null) return;
    STREAMS.forEach((name, i) => {
      this.streams.set(name, mulberry32(Math.imul(seed ^ 0x9e3779b9, i + 1) + i));
    });
  }

  next(stream: RandomStream): number {
    const gen = this.streams.get(stream);
    return gen === undefined ? Math.random() : gen();
  }
}
