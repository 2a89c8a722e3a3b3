/**
 * The entry of the `<script>` bundle (`dist/tidings.min.js`): the package's exports as the
 * global `tidings`. Written out rather than left to the bundler's `globalName`, whose module
 * helpers would cost about 200 bytes gzipped.
 */
import { Manager, Socket, io, parser } from "./index";

(globalThis as unknown as Record<string, unknown>)["tidings"] = { io, connect: io, default: io, Manager, Socket, parser };
