import type { Socket } from "node:net";
import { lazyNet } from "../node-builtins.js";
import { Exchange, networkError } from "./exchange.js";

/**
 * The connection's own read buffer: heads, and body bytes that arrive
 * before the caller has said where they go, all copied out. Small, so that
 * little of a body is read here: the rest goes straight where it belongs.
 */
const SCRATCH_BYTES = 4 * 1024;

/** What a connection tells its pool. */
export interface ConnectionOwner {
  /** Idle again, ready for the next request. */
  release(connection: RawConnection): void;
  /** Closed: never to be used again. */
  gone(connection: RawConnection): void;
}

/**
 * One HTTP/1.1 connection on a plain `net.Socket`, one request at a time,
 * kept alive between requests. The socket reads through `onread` into a
 * buffer chosen before each read: the caller's destination while a body is
 * being read into it, else a small buffer of its own. Node's HTTP parser
 * and its per-read allocations are left out; what is left is the copy out
 * of the kernel.
 */
export class RawConnection {
  private readonly socket: Socket;
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  /** The buffer the exchange handed to the socket for its next read, if any. */
  private window: Uint8Array | null = null;
  private exchange: Exchange | null = null;
  private uses = 0;
  closed = false;

  constructor(
    host: string,
    port: number,
    private readonly owner: ConnectionOwner,
  ) {
    this.socket = lazyNet().connect({
      host,
      port,
      onread: { buffer: () => this.nextBuffer(), callback: (n, buf) => this.onData(n, buf) },
    });
    this.socket.setNoDelay(true);
    this.socket.on("error", (e) => this.close(e));
    this.socket.on("end", () => this.close(networkError("the server closed the connection")));
    this.socket.on("close", () => this.close(networkError("the connection closed")));
  }

  /** Sends `request` (a whole GET) and returns its answer, whose head is still to come. */
  send(request: string): Exchange {
    const reused = this.uses++ > 0;
    const exchange = new Exchange(
      {
        finished: (reusable) => this.finished(exchange, reusable),
        resume: () => this.socket.resume(),
        destroy: () => this.destroy(),
      },
      reused,
    );
    this.exchange = exchange;
    this.socket.ref();
    this.socket.resume();
    this.socket.write(request, "latin1");
    return exchange;
  }

  private nextBuffer(): Uint8Array {
    this.window = this.exchange?.nextReadBuffer() ?? null;
    return this.window ?? this.scratch;
  }

  /** Returns false to pause reading (bytes are waiting with nobody to take them). */
  private onData(n: number, buf: Uint8Array): boolean {
    const exchange = this.exchange;
    if (exchange === null) {
      // Bytes on an idle connection answer nothing we asked: it cannot be trusted again.
      this.destroy();
      return false;
    }
    if (buf === this.window) {
      this.window = null;
      return exchange.landed(n, buf);
    }
    return exchange.received(buf.subarray(0, n));
  }

  private finished(exchange: Exchange, reusable: boolean): void {
    if (this.exchange !== exchange) return;
    this.exchange = null;
    if (!reusable) {
      this.destroy();
      return;
    }
    // An idle kept-alive socket must not keep the process alive.
    this.socket.unref();
    // Reading goes on while idle, so that a server closing the connection is noticed.
    this.socket.resume();
    this.owner.release(this);
  }

  destroy(): void {
    this.close(networkError("the connection was dropped"));
    this.socket.destroy();
  }

  private close(e: unknown): void {
    const exchange = this.exchange;
    this.exchange = null;
    exchange?.fail(e);
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.owner.gone(this);
  }
}
