import type { Socket } from 'node:net';

/** Connections the simulator never answers and creations it makes later; reset and close end both. */
export class HeldCalls {
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  hold(socket: Socket, onClose?: () => void): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      onClose?.();
    });
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  get pendingLater(): number {
    return this.timers.size;
  }

  releaseAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
