// The bench contract (namespace `/`) served by the official Node socket.io server, with its
// default configuration (maxHttpBufferSize is already 1e6; it is set here to say so): `echo`
// acks with its arguments, `join` joins a room then acks "ok", `bcast` emits `msg` with its
// `data` to every socket in its `room`.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT is not a port number: ${process.env.PORT}`);
  process.exit(1);
}

const httpServer = createServer();
const io = new Server(httpServer, { maxHttpBufferSize: 1e6 });

io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("bcast", (bcast) => {
    if (bcast !== null && typeof bcast === "object") io.to(bcast.room).emit("msg", bcast.data);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  const { port } = httpServer.address();
  console.log(`node-socketio-bench listening on http://127.0.0.1:${port}/socket.io/`);
});
