/** The entry of `dist/msgpack.min.js`: `tidings-client/msgpack` as the global `tidingsMsgpack`. */
import { Decoder, Encoder, decode, encode, parser } from "./msgpack";

(globalThis as unknown as Record<string, unknown>)["tidingsMsgpack"] = { Decoder, Encoder, decode, default: parser, encode, parser };
