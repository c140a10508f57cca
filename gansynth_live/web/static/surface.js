// gansynth-live web surface: the OSC address space over a WebSocket (see docs/web.md).
// Every control sends {"address": ..., "args": [...]} exactly as an OSC client would;
// the server answers with lists of the same objects (feedback), so the page shows
// what the server holds, whoever changed it (MIDI, OSC, another page).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get("token") || "";
  const state = {};            // address -> args, as last received
  const surface = { state, send, connected: false, refused: "" };
  window.gansynthSurface = surface;  // for tests and the console

  // --- connection ------------------------------------------------------------------------
  let socket = null;
  let retryMs = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    socket = new WebSocket(`${scheme}://${location.host}/ws${query}`);
    socket.onopen = () => {
      retryMs = 500;
      surface.connected = true;
      surface.refused = "";
      showConnection("online", "connected");
      $("banner").hidden = true;
    };
    socket.onmessage = (event) => {
      let messages;
      try { messages = JSON.parse(event.data); } catch (_) { return; }
      if (!Array.isArray(messages)) messages = [messages];
      for (const m of messages) {
        if (m && typeof m.address === "string" && Array.isArray(m.args)) receive(m.address, m.args);
      }
    };
    socket.onclose = () => {
      surface.connected = false;
      showConnection("offline", "offline");
      releaseAll(false);
      explainRefusal().then((refused) => {
        setTimeout(connect, refused ? 5000 : retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      });
    };
  }
  // A refused handshake looks like any closed socket to a page; the state query says why.
  async function explainRefusal() {
    try {
      const query = token ? `?token=${encodeURIComponent(token)}` : "";
      const answer = await fetch(`/state.json${query}`, { cache: "no-store" });
      if (answer.status === 403) {
        surface.refused = (await answer.text()).trim();
        showBanner(`refused: ${surface.refused}`);
        return true;
      }
    } catch (_) { /* serve is not running */ }
    return false;
  }
  function showConnection(kind, text) {
    const box = $("connection");
    box.className = kind;
    box.textContent = text;
  }
  function showBanner(text) {
    const banner = $("banner");
    banner.textContent = text;
    banner.hidden = false;
  }
  function send(address, ...args) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ address, args }));
      return true;
    }
    return false;
  }

  // --- feedback ----------------------------------------------------------------------------
  function receive(address, args) {
    state[address] = args;
    let match;
    if (address === "/morph/xy") {
      if (padPointer === null) showCursor(args[0], args[1]);
    } else if ((match = /^\/corner\/([1-4])\/name$/.exec(address))) {
      showCorner(Number(match[1]), args[0]);
    } else if (address === "/preset/name") {
      $("preset-name").textContent = args[0] || "\u2014";
    } else if (address === "/volume") {
      if (Date.now() - volumeTouched > 600) showVolume(args[0]);
    } else if (address === "/bank/progress") {
      $("bank-progress").value = args[0];
    } else if (address === "/bank/text") {
      $("bank-text").textContent = args[0];
    } else if (address === "/status/text") {
      $("status-text").textContent = args[0];
    } else if (address === "/status/voices") {
      $("voices").textContent = String(args[0]);
    } else if (address === "/status/xruns") {
      $("xruns").textContent = String(args[0]);
    } else if (address === "/error") {
      $("error-text").textContent = args[0];
      clearTimeout(receive.errorTimer);
      receive.errorTimer = setTimeout(() => { $("error-text").textContent = ""; }, 4000);
    }
  }

  // --- buttons -----------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-send]");
    if (button) send(button.dataset.send);
  });

  // --- corners ------------------------------------------------------------------------------
  for (const box of document.querySelectorAll(".corner")) {
    const n = box.dataset.corner;
    box.innerHTML = `<span class="label" id="corner-${n}-name">\u2014</span>
      <span class="row">
        <button type="button" data-send="/corner/${n}/prev" aria-label="corner ${n}: previous preset">&#9664;</button>
        <button type="button" data-send="/corner/${n}/random" aria-label="corner ${n}: random">&#9860;</button>
        <button type="button" data-send="/corner/${n}/next" aria-label="corner ${n}: next preset">&#9654;</button>
      </span>`;
  }
  function showCorner(n, label) {
    const box = document.querySelector(`.corner[data-corner="${n}"]`);
    box.classList.toggle("unused", !label);
    $(`corner-${n}-name`).textContent = label || "\u2014";
    $(`corner-${n}-name`).title = label || "";
  }

  // --- the morph pad ------------------------------------------------------------------------
  const pad = $("pad");
  let padPointer = null;       // the one pointer dragging the pad (other touches are ignored)
  let pendingXY = null;
  let flushTimer = null;
  const clamp = (v) => Math.min(1, Math.max(0, v));
  function showCursor(x, y) {
    const left = `${(clamp(x) * 100).toFixed(2)}%`;
    const top = `${((1 - clamp(y)) * 100).toFixed(2)}%`;
    const cursor = $("cursor");
    cursor.style.left = left;
    cursor.style.top = top;
    cursor.dataset.x = String(x);
    cursor.dataset.y = String(y);
    $("crosshair-y").style.left = left;
    $("crosshair-x").style.top = top;
  }
  function padMove(event) {
    const box = pad.getBoundingClientRect();
    const x = clamp((event.clientX - box.left) / box.width);
    const y = clamp(1 - (event.clientY - box.top) / box.height);
    showCursor(x, y);
    pendingXY = [Number(x.toFixed(4)), Number(y.toFixed(4))];
    if (flushTimer === null) flushTimer = setTimeout(flushXY, 16);  // ~60 moves a second at most
  }
  function flushXY() {
    flushTimer = null;
    if (pendingXY !== null) {
      send("/morph/xy", pendingXY[0], pendingXY[1]);
      pendingXY = null;
    }
  }
  pad.addEventListener("pointerdown", (event) => {
    if (event.target.closest("button") || padPointer !== null) return;
    padPointer = event.pointerId;
    pad.setPointerCapture(event.pointerId);
    padMove(event);
    event.preventDefault();
  });
  pad.addEventListener("pointermove", (event) => {
    if (event.pointerId === padPointer) padMove(event);
  });
  const padUp = (event) => {
    if (event.pointerId !== padPointer) return;
    padPointer = null;
    if (flushTimer !== null) { clearTimeout(flushTimer); flushXY(); }
  };
  for (const kind of ["pointerup", "pointercancel", "lostpointercapture"]) {
    pad.addEventListener(kind, padUp);
  }

  // --- volume -------------------------------------------------------------------------------
  const volume = $("volume");
  let volumeTouched = 0;
  function showVolume(v) {
    volume.value = String(v);
    $("volume-value").textContent = Number(v).toFixed(2);
  }
  volume.addEventListener("input", () => {
    volumeTouched = Date.now();
    $("volume-value").textContent = Number(volume.value).toFixed(2);
    send("/volume", Number(volume.value));
  });

  // --- notes --------------------------------------------------------------------------------
  const held = new Map();      // pitch -> how many pointers/keys hold it
  function noteOn(pitch, velocity) {
    if (pitch < 0 || pitch > 127) return;
    held.set(pitch, (held.get(pitch) || 0) + 1);
    send("/note", pitch, Math.max(1, Math.min(127, Math.round(velocity))));
    markKey(pitch);
  }
  function noteOff(pitch) {
    const count = held.get(pitch) || 0;
    if (count <= 1) {
      held.delete(pitch);
      send("/note", pitch, 0);
    } else {
      held.set(pitch, count - 1);
    }
    markKey(pitch);
  }
  function releaseAll(tell = true) {
    for (const pitch of held.keys()) if (tell) send("/note", pitch, 0);
    held.clear();
    pointerNotes.clear();
    typedNotes.clear();
    for (const key of document.querySelectorAll(".key.down")) key.classList.remove("down");
  }
  function markKey(pitch) {
    const key = keyboard.querySelector(`.key[data-pitch="${pitch}"]`);
    if (key) key.classList.toggle("down", held.has(pitch));
  }

  // --- the on-screen keyboard ---------------------------------------------------------------
  const keyboard = $("keyboard");
  const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
  const BLACK = new Set([1, 3, 6, 8, 10]);
  let octave = 4;              // the keyboard starts at C of this octave (C4 = 60)
  const base = () => 12 * (octave + 1);
  function buildKeyboard() {
    releaseAll();
    const span = keyboard.clientWidth >= 560 ? 24 : 12;  // two octaves, or one on a phone
    const whites = [];
    for (let i = 0; i <= span; i++) if (!BLACK.has(i % 12)) whites.push(i);
    const width = 100 / whites.length;
    keyboard.innerHTML = "";
    let whiteIndex = 0;
    for (let i = 0; i <= span; i++) {
      const pitch = base() + i;
      const key = document.createElement("div");
      key.className = "key";
      key.dataset.pitch = String(pitch);
      if (BLACK.has(i % 12)) {
        key.classList.add("black");
        key.style.left = `${whiteIndex * width - width * 0.3}%`;
        key.style.width = `${width * 0.6}%`;
      } else {
        key.textContent = i % 12 === 0 ? `${NAMES[0]}${Math.floor(pitch / 12) - 1}` : "";
        whiteIndex++;
      }
      keyboard.appendChild(key);
    }
    $("octave").textContent = `C${octave}`;
  }
  const pointerNotes = new Map();  // pointerId -> pitch (each finger plays its own note)
  function keyAt(x, y) {
    const element = document.elementFromPoint(x, y);
    return element && element.classList.contains("key") ? element : null;
  }
  function velocityOf(key, y) {  // nearer the front edge of the key = louder
    const box = key.getBoundingClientRect();
    return 20 + 107 * clamp((y - box.top) / box.height);
  }
  keyboard.addEventListener("pointerdown", (event) => {
    const key = keyAt(event.clientX, event.clientY);
    if (!key) return;
    keyboard.setPointerCapture(event.pointerId);
    const pitch = Number(key.dataset.pitch);
    pointerNotes.set(event.pointerId, pitch);
    noteOn(pitch, velocityOf(key, event.clientY));
    event.preventDefault();
  });
  keyboard.addEventListener("pointermove", (event) => {  // a glissando: slide to the next key
    const playing = pointerNotes.get(event.pointerId);
    if (playing === undefined) return;
    const key = keyAt(event.clientX, event.clientY);
    if (!key || Number(key.dataset.pitch) === playing) return;
    noteOff(playing);
    const pitch = Number(key.dataset.pitch);
    pointerNotes.set(event.pointerId, pitch);
    noteOn(pitch, velocityOf(key, event.clientY));
  });
  const keyUp = (event) => {
    const playing = pointerNotes.get(event.pointerId);
    if (playing === undefined) return;
    pointerNotes.delete(event.pointerId);
    noteOff(playing);
  };
  for (const kind of ["pointerup", "pointercancel"]) keyboard.addEventListener(kind, keyUp);

  // --- the computer keyboard (the common DAW layout) ----------------------------------------
  const TYPED = { KeyA: 0, KeyW: 1, KeyS: 2, KeyE: 3, KeyD: 4, KeyF: 5, KeyT: 6, KeyG: 7,
                  KeyY: 8, KeyH: 9, KeyU: 10, KeyJ: 11, KeyK: 12 };
  const typedNotes = new Map();  // key code -> pitch it started (an octave change keeps it)
  function setOctave(value) {
    octave = Math.max(0, Math.min(8, value));
    buildKeyboard();
  }
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement && event.target.type === "text") return;
    if (event.code === "KeyZ" || event.code === "KeyX") {
      if (!event.repeat) setOctave(octave + (event.code === "KeyZ" ? -1 : 1));
      event.preventDefault();
      return;
    }
    const offset = TYPED[event.code];
    if (offset === undefined) return;
    event.preventDefault();
    if (event.repeat || typedNotes.has(event.code)) return;
    const pitch = base() + offset;
    typedNotes.set(event.code, pitch);
    noteOn(pitch, 100);
  });
  window.addEventListener("keyup", (event) => {
    const pitch = typedNotes.get(event.code);
    if (pitch === undefined) return;
    typedNotes.delete(event.code);
    noteOff(pitch);
  });
  window.addEventListener("blur", () => releaseAll());  // no note left hanging
  $("octave-down").addEventListener("click", () => setOctave(octave - 1));
  $("octave-up").addEventListener("click", () => setOctave(octave + 1));
  let resizeTimer = null;
  let builtFor = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if ((keyboard.clientWidth >= 560) !== (builtFor >= 560)) {
        builtFor = keyboard.clientWidth;
        buildKeyboard();
      }
    }, 150);
  });

  builtFor = keyboard.clientWidth;
  buildKeyboard();
  showCursor(0.5, 0.5);
  connect();
})();
