/** Why a server could not listen, in one line that names the port or host and says what to do. */
export class ListenError extends Error {
  override readonly name = "ListenError";

  constructor(
    readonly port: number,
    readonly host: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(ListenError.explain(port, host, cause), { cause });
  }

  private static explain(port: number, host: string, cause: NodeJS.ErrnoException): string {
    switch (cause.code) {
      case "EADDRINUSE":
        return `Port ${port} on ${host} is in use by another process: stop that process, or start on another port with PORT=<port> (PORT=0 picks a free one).`;
      case "EACCES":
        return `Port ${port} on ${host} needs privileges this process does not have: start on a port above 1023 with PORT=<port>.`;
      case "EADDRNOTAVAIL":
      case "ENOTFOUND":
        return `Cannot listen on ${host}: it is not an address of this machine; set HOST to one, such as 127.0.0.1 or 0.0.0.0.`;
      default:
        return `Cannot listen on ${host}:${port}: ${cause.message}`;
    }
  }
}
