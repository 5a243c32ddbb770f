import * as net from "node:net";

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  // Below the kernel's ephemeral range (32768-60999 here): a port handed out from that range can
  // be taken by any outgoing connection (to PostgreSQL, Kafka, ...) between this probe and the
  // test's own bind; a random one below it is only ever taken by another listener.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = FREE_PORT_LOW + Math.floor(Math.random() * (FREE_PORT_HIGH - FREE_PORT_LOW));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port found between ${FREE_PORT_LOW} and ${FREE_PORT_HIGH} in 50 tries`);
}

const FREE_PORT_LOW = 20_000;
const FREE_PORT_HIGH = 32_768;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** `127.0.0.1:<port>` of a port nobody listens on: a peer that is down. */
export const deadAddress = async (): Promise<string> => `127.0.0.1:${await freePort()}`;
