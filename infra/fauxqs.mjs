// Starts fauxqs (SQS and SNS) for the local stack without its request log:
// fauxqs's own cli.js always logs every request. Port from FAUXQS_PORT.
import { startFauxqs } from "fauxqs";

const port = parseInt(process.env.FAUXQS_PORT ?? "18001", 10);
const server = await startFauxqs({ port, logger: false });
console.log(`fauxqs listening on port ${server.port}`);
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, async () => {
    await server.stop();
    process.exit(0);
  });
}
