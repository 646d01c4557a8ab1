// A live depth ladder for one symbol, from quotecast's WebSocket edge, read with flatc's generated
// code (./feed) over this page's FlatBuffers runtime. The book rules are the feed's: a snapshot
// replaces a book; level New inserts at its index (truncating to the depth), Change overwrites,
// Delete removes.
import { ByteBuffer } from "flatbuffers";
import { Packet } from "/static/feed/quotecast/feed/packet.js";

const params = new URLSearchParams(location.search);
const symbol = (params.get("symbol") || "").toUpperCase();
const state = { depth: 10, snapshotChannel: -1, locate: null, bids: [], asks: [], frames: 0, snapshots: 0,
                stale: false, lostMessages: 0n, lastTrade: null, lastFrameAt: 0, connected: false, tradingState: "" };

document.getElementById("symbol-input").value = symbol;
document.getElementById("symbol-title").textContent = symbol ? `— ${symbol}` : "";
document.getElementById("choose").addEventListener("submit", (event) => {
  event.preventDefault();
  location.search = "?symbol=" + encodeURIComponent(document.getElementById("symbol-input").value.toUpperCase());
});

function price(value) { return (value / 10000).toFixed(4).replace(/0{1,2}$/, ""); }

function applyLevel(level) {
  const side = level.side() === 0 ? state.bids : state.asks;
  const entry = { price: level.price(), shares: Number(level.shares()), orders: level.orders() };
  const index = level.levelIndex();
  if (level.action() === 0) {
    side.splice(index, 0, entry);
    side.length = Math.min(side.length, state.depth);
  } else if (level.action() === 1) {
    side[index] = entry;
  } else {
    side.splice(index, 1);
  }
}

function applyPacket(bytes) {
  const packet = Packet.getRootAsPacket(new ByteBuffer(bytes));
  state.frames += 1;
  state.lastFrameAt = Date.now();
  for (let i = 0; i < packet.updatesLength(); i++) {
    const update = packet.updates(i);
    const definition = update.definition();
    if (definition && definition.symbol() === symbol) state.locate = definition.locate();
    const status = update.feedStatus();
    if (status) {
      state.stale = status.state() !== 0;
      state.lostMessages = status.lostMessages();
    }
    const snapshot = update.snapshot();
    if (snapshot && snapshot.locate() === state.locate) {
      state.snapshots += 1;
      const levels = (count, at) => Array.from({ length: count }, (_, j) => {
        const level = at(j);
        return { price: level.price(), shares: Number(level.shares()), orders: level.orders() };
      });
      state.bids = levels(snapshot.bidsLength(), (j) => snapshot.bids(j));
      state.asks = levels(snapshot.asksLength(), (j) => snapshot.asks(j));
      if (snapshot.tradingState()) state.tradingState = String.fromCharCode(snapshot.tradingState());
    }
    const level = update.level();
    if (level && level.locate() === state.locate) applyLevel(level);
    const trade = update.trade();
    if (trade && trade.locate() === state.locate) {
      state.lastTrade = { price: trade.price(), shares: Number(trade.shares()) };
    }
    const trading = update.tradingState();
    if (trading && trading.locate() === state.locate) state.tradingState = String.fromCharCode(trading.state());
  }
}

function render() {
  const rows = [];
  for (let i = 0; i < Math.max(state.bids.length, state.asks.length); i++) {
    const bid = state.bids[i], ask = state.asks[i];
    rows.push("<tr>" +
      `<td class="bid">${bid ? bid.orders : ""}</td><td class="bid">${bid ? bid.shares : ""}</td>` +
      `<td class="bid price">${bid ? price(bid.price) : ""}</td><td class="ask price">${ask ? price(ask.price) : ""}</td>` +
      `<td class="ask">${ask ? ask.shares : ""}</td><td class="ask">${ask ? ask.orders : ""}</td></tr>`);
  }
  document.querySelector("#ladder tbody").innerHTML = rows.join("");
  const health = document.getElementById("health");
  const age = state.lastFrameAt ? ((Date.now() - state.lastFrameAt) / 1000).toFixed(1) + " s ago" : "none yet";
  health.className = state.stale ? "stale" : "";
  health.textContent = !symbol ? "choose a symbol" :
    `${state.connected ? "connected" : "disconnected"} · feed ${state.stale ? `STALE (${state.lostMessages} upstream messages lost)` : "exact"}` +
    ` · ${state.frames} frames, ${state.snapshots} snapshot(s), last ${age}` +
    (state.tradingState ? ` · trading ${state.tradingState}` : "");
  document.getElementById("trade").textContent =
    state.lastTrade ? `last trade ${state.lastTrade.shares} @ ${price(state.lastTrade.price)}` : "";
  document.getElementById("book-json").textContent = JSON.stringify({
    symbol, locate: state.locate, frames: state.frames, snapshots: state.snapshots, stale: state.stale,
    bids: state.bids, asks: state.asks });
}

if (symbol) {
  const socket = new WebSocket(`ws://${location.host}/feed`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { state.connected = true; };
  socket.onclose = () => { state.connected = false; render(); };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      const message = JSON.parse(event.data);
      if (message.type === "hello") {
        state.depth = message.depth;
        state.snapshotChannel = message.snapshot_channel;
        socket.send(JSON.stringify({ subscribe: [symbol] }));
      }
      return;
    }
    applyPacket(new Uint8Array(event.data));
  };
}
render();
setInterval(render, 200);
