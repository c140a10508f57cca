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
      loadFaders();  // (again after a reconnect: serve may have restarted with other presets)
      loadPresets();
      loadMap();
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
      markCurrentPreset();
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
    } else if (address === "/status/cpu") {
      $("cpu").textContent = `${Math.round(args[0])}%`;
    } else if (address === "/status/level") {
      $("level").value = Math.max(-60, args[0]);
      $("level-db").textContent = args[0] <= -120 ? "-inf dB" : `${args[0].toFixed(1)} dB`;
    } else if (address.startsWith("/envelope/")) {
      showFader(address, args[0]);
    } else if (address === "/record") {
      const rec = $("rec");
      rec.classList.toggle("on", Boolean(args[0]));
      rec.setAttribute("aria-pressed", args[0] ? "true" : "false");
      if (!args[0]) $("rec-time").textContent = "";
    } else if (address === "/record/time") {
      if ((state["/record"] || [0])[0]) $("rec-time").textContent = clock(args[0]);
    } else if (address === "/midi/learn" || address === "/midi/map") {
      const learning = (state["/midi/learn"] || [""])[0];
      for (const axis of ["x", "y"]) $(`learn-${axis}`).classList.toggle("on", learning === axis);
      $("learn-text").textContent = learning ? `move a MIDI controller for ${learning}…`
        : ((state["/midi/map"] || [""])[0] || "");
    } else if (address === "/error") {
      $("error-text").textContent = args[0];
      clearTimeout(receive.errorTimer);
      receive.errorTimer = setTimeout(() => { $("error-text").textContent = ""; }, 4000);
    }
  }

  // --- documents (presets, faders, the timbre map) -------------------------------------------
  async function fetchJSON(path) {
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    const answer = await fetch(`${path}${query}`, { cache: "no-store" });
    if (!answer.ok) throw new Error(`${path}: ${answer.status}`);
    return answer.json();
  }
  const clock = (seconds) => {
    const s = Math.max(0, Number(seconds) || 0);
    return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
  };
  surface.presets = [];
  surface.map = null;

  // --- the preset browser and the corner pickers ---------------------------------------------
  async function loadPresets() {
    let answer;
    try { answer = await fetchJSON("/presets.json"); } catch (_) { return; }
    surface.presets = answer.presets;
    const list = $("preset-list");
    list.innerHTML = "";
    for (const preset of answer.presets) {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "preset" + (preset.morph ? " morph" : "");
      item.dataset.preset = preset.name;
      item.setAttribute("role", "listitem");
      item.title = preset.description || (preset.morph ? `morph: ${preset.corners.join(", ")}` : "");
      const number = document.createElement("span");
      number.className = "program";
      number.textContent = preset.programs.length ? preset.programs.join(" ") : "–";
      const name = document.createElement("span");
      name.className = "pname";
      name.textContent = preset.name + (preset.morph ? " ▦" : "");
      item.append(number, name);
      list.appendChild(item);
    }
    markCurrentPreset();
    for (const picker of document.querySelectorAll("select.pick")) {
      const n = picker.dataset.corner;
      picker.innerHTML = "";
      const none = document.createElement("option");
      none.value = ""; none.textContent = "preset…";
      picker.appendChild(none);
      for (const preset of answer.presets) {
        if (preset.morph) continue;
        const option = document.createElement("option");
        option.value = preset.name; option.textContent = preset.name;
        picker.appendChild(option);
      }
      picker.value = "";
      picker.title = `corner ${n}: choose a preset`;
    }
  }
  function markCurrentPreset() {
    const current = (state["/preset/name"] || [""])[0];
    for (const item of document.querySelectorAll("#preset-list .preset")) {
      item.classList.toggle("current", item.dataset.preset === current);
    }
  }
  $("preset-list").addEventListener("click", (event) => {
    const item = event.target.closest(".preset");
    if (item) send("/preset", item.dataset.preset);
  });
  $("save-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("save-name").value.trim();
    if (!name) return;
    if (send("/preset/save", name)) {
      $("save-name").value = "";
      setTimeout(loadPresets, 2500);  // the library rereads its folders every 2 s
    }
  });

  // --- envelope faders (ranges and curves: the TouchOSC layout's, /controls.json) ---------
  const faders = new Map();    // address -> {spec, input, output, touched}
  async function loadFaders() {
    let answer;
    try { answer = await fetchJSON("/controls.json"); } catch (_) { return; }
    const box = $("envelope");
    box.innerHTML = "";
    for (const spec of answer.faders) {
      const label = document.createElement("label");
      label.className = "fader";
      const input = document.createElement("input");
      Object.assign(input, { type: "range", min: "0", max: "1", step: "0.001" });
      input.dataset.address = spec.address;
      const output = document.createElement("output");
      label.append(spec.name, input, output);
      box.appendChild(label);
      const fader = { spec, input, output, touched: 0 };
      faders.set(spec.address, fader);
      input.addEventListener("input", () => {
        fader.touched = Date.now();
        const value = valueAt(spec, Number(input.value));
        output.textContent = faderText(spec, value);
        send(spec.address, Number(value.toPrecision(6)));
      });
      const known = state[spec.address];
      showFader(spec.address, known ? known[0] : spec.default, true);
    }
  }
  const valueAt = (spec, p) => spec.low + (spec.high - spec.low) * Math.pow(clamp(p), spec.curve);
  function positionOf(spec, value) {
    if (spec.high === spec.low) return 0;
    return Math.pow(clamp((value - spec.low) / (spec.high - spec.low)), 1 / spec.curve);
  }
  const faderText = (spec, v) => (spec.address.endsWith("sustain") ? v.toFixed(2)
    : v < 1 ? `${Math.round(v * 1000)} ms` : `${v.toFixed(2)} s`);
  function showFader(address, value, force = false) {
    const fader = faders.get(address);
    if (!fader || (!force && Date.now() - fader.touched < 600)) return;
    fader.input.value = String(positionOf(fader.spec, value));
    fader.output.textContent = faderText(fader.spec, value);
  }
  $("rec").addEventListener("click", () => {
    send("/record", (state["/record"] || [0])[0] ? 0 : 1);
  });

  // --- the timbre map: tap a point to load it, drag it onto a pad corner -------------------
  async function loadMap() {
    let answer;
    try { answer = await fetchJSON("/timbre-map.json"); } catch (_) { return; }
    surface.map = answer;
    const map = $("map");
    map.innerHTML = "";
    $("map-text").textContent = answer.available ? "" : answer.why;
    map.hidden = !answer.available;
    // each axis stretched to fill the box (the shipped coordinates keep MDS's aspect)
    const span = (key) => {
      const values = answer.points.map((p) => p[key]);
      const low = Math.min(...values), high = Math.max(...values);
      return (v) => 0.06 + 0.88 * (high > low ? (v - low) / (high - low) : 0.5);
    };
    const sx = span("x"), sy = span("y");
    for (const point of answer.points) {
      const dot = document.createElement("div");
      dot.className = "point" + (point.preset ? " preset" : "");
      dot.dataset.name = point.name;
      dot.style.left = `${(sx(point.x) * 100).toFixed(2)}%`;
      dot.style.top = `${((1 - sy(point.y)) * 100).toFixed(2)}%`;
      dot.title = point.preset ? `${point.name}: tap to load, drag onto a corner`
        : `${point.name} (fitted instrument, no preset)`;
      const label = document.createElement("span");
      label.textContent = point.name.replace(/_/g, " ");
      dot.appendChild(label);
      map.appendChild(dot);
    }
    placeLabels();
  }
  // Labels go where they cover no other label or point: each tries the spots around its point
  // (right, left, above, below, the diagonals) and takes the first free one inside the box;
  // presets first, then the loneliest points. A fitted instrument's label that finds no room
  // is left out (its name stays in the point's tooltip); a preset's is always shown.
  function placeLabels() {
    const map = $("map");
    const frame = map.getBoundingClientRect();
    if (frame.width === 0 || frame.height === 0) return;  // hidden: placed when it shows
    const dots = [...map.querySelectorAll(".point")].map((dot) => {
      const box = dot.getBoundingClientRect();
      const label = dot.firstElementChild;
      label.classList.remove("hidden");
      label.style.left = "0px"; label.style.top = "0px";
      const size = label.getBoundingClientRect();
      return { dot, label, x: box.left + box.width / 2 - frame.left,
               y: box.top + box.height / 2 - frame.top, r: box.width / 2,
               w: size.width, h: size.height, preset: dot.classList.contains("preset") };
    });
    const near = (a) => dots.filter((b) => b !== a && Math.hypot(a.x - b.x, a.y - b.y) < 40).length;
    for (const d of dots) d.crowd = near(d);
    dots.sort((a, b) => (b.preset - a.preset) || (a.crowd - b.crowd));
    for (const d of dots) {
      d.own = { left: d.x - d.r, top: d.y - d.r, right: d.x + d.r, bottom: d.y + d.r };
    }
    const taken = dots.map((d) => d.own);  // no label covers another point
    const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom &&
      b.top < a.bottom;
    const at = (d, dx, dy) => ({ left: d.x + dx, top: d.y + dy, right: d.x + dx + d.w,
                                 bottom: d.y + dy + d.h });  // d's label placed at dx, dy
    for (const d of dots) {
      const g = d.r + 2;
      const spots = [[g, -d.h / 2], [-g - d.w, -d.h / 2], [-d.w / 2, -g - d.h], [-d.w / 2, g],
                     [g * 0.7, -g * 0.7 - d.h], [-g * 0.7 - d.w, -g * 0.7 - d.h],
                     [g * 0.7, g * 0.7], [-g * 0.7 - d.w, g * 0.7]];
      let chosen = null;
      for (const [dx, dy] of spots) {
        const rect = at(d, dx, dy);
        if (rect.left < 0 || rect.top < 0 || rect.right > frame.width ||
            rect.bottom > frame.height) continue;
        if (taken.some((t) => t !== d.own && overlaps(t, rect))) continue;
        chosen = [dx, dy, rect];
        break;
      }
      if (chosen === null && d.preset) {  // shown anyway, on whichever side is inside the box
        const dx = d.x + g + d.w <= frame.width ? g : -g - d.w;
        const dy = Math.min(Math.max(-d.h / 2, -d.y), frame.height - d.y - d.h);
        chosen = [dx, dy, at(d, dx, dy)];
      }
      if (chosen === null) {
        d.label.classList.add("hidden");
        continue;
      }
      taken.push(chosen[2]);
      d.label.style.left = `${(chosen[0] + d.r).toFixed(1)}px`;  // from the dot's corner
      d.label.style.top = `${(chosen[1] + d.r).toFixed(1)}px`;
    }
  }
  let placed = null;
  new ResizeObserver(() => {  // the box follows the window (and opening its details)
    clearTimeout(placed);
    placed = setTimeout(placeLabels, 100);
  }).observe($("map"));
  let mapDrag = null;          // {pointerId, name, x0, y0, moved, ghost}
  $("map").addEventListener("pointerdown", (event) => {
    const dot = event.target.closest(".point.preset");
    if (!dot || mapDrag !== null) return;
    mapDrag = { pointerId: event.pointerId, name: dot.dataset.name, x0: event.clientX,
                y0: event.clientY, moved: false, ghost: null };
    $("map").setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  $("map").addEventListener("pointermove", (event) => {
    if (!mapDrag || event.pointerId !== mapDrag.pointerId) return;
    if (!mapDrag.moved && Math.hypot(event.clientX - mapDrag.x0, event.clientY - mapDrag.y0) < 8) return;
    mapDrag.moved = true;
    if (!mapDrag.ghost) {
      mapDrag.ghost = document.createElement("div");
      mapDrag.ghost.className = "ghost";
      mapDrag.ghost.textContent = mapDrag.name;
      document.body.appendChild(mapDrag.ghost);
    }
    mapDrag.ghost.style.left = `${event.clientX}px`;
    mapDrag.ghost.style.top = `${event.clientY}px`;
    const target = cornerAt(event.clientX, event.clientY);
    for (const box of document.querySelectorAll(".corner")) {
      box.classList.toggle("target", target !== null && box.dataset.corner === String(target));
    }
  });
  function cornerAt(x, y) {  // the pad's quadrant under (x, y): 1 bottom left .. 4 top right
    const box = pad.getBoundingClientRect();
    if (x < box.left || x > box.right || y < box.top || y > box.bottom) return null;
    const right = x > box.left + box.width / 2;
    const top = y < box.top + box.height / 2;
    return (top ? 3 : 1) + (right ? 1 : 0);
  }
  const mapUp = (event) => {
    if (!mapDrag || event.pointerId !== mapDrag.pointerId) return;
    const drag = mapDrag;
    mapDrag = null;
    if (drag.ghost) drag.ghost.remove();
    for (const box of document.querySelectorAll(".corner.target")) box.classList.remove("target");
    if (event.type !== "pointerup") return;
    if (!drag.moved) {
      send("/preset", drag.name);  // audition: load it
      return;
    }
    const corner = cornerAt(event.clientX, event.clientY);
    if (corner !== null) send(`/corner/${corner}/preset`, drag.name);
  };
  for (const kind of ["pointerup", "pointercancel"]) $("map").addEventListener(kind, mapUp);

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
      </span>
      <select class="pick" data-corner="${n}" aria-label="corner ${n}: preset"></select>`;
  }
  document.addEventListener("change", (event) => {
    const picker = event.target.closest("select.pick");
    if (!picker || !picker.value) return;
    send(`/corner/${picker.dataset.corner}/preset`, picker.value);
    picker.value = "";
  });
  function showCorner(n, label) {
    const box = document.querySelector(`.corner[data-corner="${n}"]`);
    box.classList.toggle("unused", !label);
    $(`corner-${n}-name`).textContent = label || "\u2014";
    $(`corner-${n}-name`).title = label || "";
  }

  // --- the morph pad ------------------------------------------------------------------------
  // Multi-touch: every finger on the pad is tracked; the newest one steers (a mono synth's
  // last-note priority), and lifting it hands the pad back to the finger still down, which
  // takes over from where it rests (a two-finger jump between two timbres).
  const pad = $("pad");
  const padPointers = new Map();  // pointerId -> [x, y], in the order they touched
  let padPointer = null;       // the pointer steering the pad (the newest still down)
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
  function padPoint(event) {
    const box = pad.getBoundingClientRect();
    return [clamp((event.clientX - box.left) / box.width),
            clamp(1 - (event.clientY - box.top) / box.height)];
  }
  function padGo(x, y) {
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
    if (event.target.closest("button, select") || padPointers.has(event.pointerId)) return;
    const point = padPoint(event);
    padPointers.set(event.pointerId, point);
    padPointer = event.pointerId;
    pad.setPointerCapture(event.pointerId);
    padGo(...point);
    event.preventDefault();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!padPointers.has(event.pointerId)) return;
    const point = padPoint(event);
    padPointers.set(event.pointerId, point);
    if (event.pointerId === padPointer) padGo(...point);
  });
  const padUp = (event) => {
    if (!padPointers.delete(event.pointerId) || event.pointerId !== padPointer) return;
    const rest = [...padPointers.keys()];
    padPointer = rest.length ? rest[rest.length - 1] : null;
    if (padPointer !== null) padGo(...padPointers.get(padPointer));
    else if (flushTimer !== null) { clearTimeout(flushTimer); flushXY(); }
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
  const sustain = $("sustain");
  function setSustain(down) {
    sustain.classList.toggle("on", down);
    sustain.setAttribute("aria-pressed", down ? "true" : "false");
    send("/sustain", down ? 1 : 0);
  }
  sustain.addEventListener("click", () => setSustain(!sustain.classList.contains("on")));
  for (const address of ["/all_notes_off", "/panic"]) {  // the server lifts the pedal too
    document.querySelector(`button[data-send="${address}"]`).addEventListener("click", () => {
      sustain.classList.remove("on");
      sustain.setAttribute("aria-pressed", "false");
    });
  }
  function releaseAll(tell = true) {
    for (const pitch of held.keys()) if (tell) send("/note", pitch, 0);
    for (const note of pointerNotes.values()) if (tell) send("/mnote/rel", note.pitch, note.id);
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
  // Each finger's note is named (OSC /mnote with an id) so sliding along the key moves that
  // note's own timbre (/ne/timbre: up the key is 1, down 0, where it was pressed 0.5).
  const pointerNotes = new Map();  // pointerId -> {pitch, id, y, height}
  let nextNoteId = Math.floor(Math.random() * 1e6) * 1000;  // page-unique ids (0..2^31)
  function fingerOn(pointerId, key, y) {
    const pitch = Number(key.dataset.pitch);
    const box = key.getBoundingClientRect();
    const id = nextNoteId = (nextNoteId + 1) % 2147483647;
    pointerNotes.set(pointerId, { pitch, id, y, height: box.height, timbre: 0.5 });
    held.set(pitch, (held.get(pitch) || 0) + 1);
    send("/mnote", pitch, Math.max(1, Math.min(127, Math.round(velocityOf(key, y)))), id);
    markKey(pitch);
  }
  function fingerOff(pointerId) {
    const note = pointerNotes.get(pointerId);
    if (note === undefined) return;
    pointerNotes.delete(pointerId);
    const count = held.get(note.pitch) || 0;
    if (count <= 1) held.delete(note.pitch); else held.set(note.pitch, count - 1);
    send("/mnote/rel", note.pitch, note.id);
    markKey(note.pitch);
  }
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
    fingerOn(event.pointerId, key, event.clientY);
    event.preventDefault();
  });
  keyboard.addEventListener("pointermove", (event) => {
    const note = pointerNotes.get(event.pointerId);
    if (note === undefined) return;
    const key = keyAt(event.clientX, event.clientY);
    if (key && Number(key.dataset.pitch) !== note.pitch) {  // a glissando: the next key
      fingerOff(event.pointerId);
      fingerOn(event.pointerId, key, event.clientY);
      return;
    }
    const timbre = Number(clamp(0.5 + (note.y - event.clientY) / note.height).toFixed(2));
    if (timbre !== note.timbre) {  // sliding along the key: this note's own timbre
      note.timbre = timbre;
      send("/ne/timbre", note.id, timbre);
    }
  });
  const keyUp = (event) => fingerOff(event.pointerId);
  for (const kind of ["pointerup", "pointercancel"]) keyboard.addEventListener(kind, keyUp);

  // --- the computer keyboard (the common DAW layout) ----------------------------------------
  const TYPED = { KeyA: 0, KeyW: 1, KeyS: 2, KeyE: 3, KeyD: 4, KeyF: 5, KeyT: 6, KeyG: 7,
                  KeyY: 8, KeyH: 9, KeyU: 10, KeyJ: 11, KeyK: 12 };
  const typedNotes = new Map();  // key code -> pitch it started (an octave change keeps it)
  let typedVelocity = 100;     // C and V step it by 20, as in common DAWs' typing keyboards
  function setOctave(value) {
    octave = Math.max(0, Math.min(8, value));
    buildKeyboard();
  }
  function setVelocity(value) {
    typedVelocity = Math.max(1, Math.min(127, value));
    $("velocity").textContent = `vel ${typedVelocity}`;
  }
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement && event.target.type === "text") return;
    if (event.code === "KeyZ" || event.code === "KeyX") {
      if (!event.repeat) setOctave(octave + (event.code === "KeyZ" ? -1 : 1));
      event.preventDefault();
      return;
    }
    if (event.code === "KeyC" || event.code === "KeyV") {
      if (!event.repeat) setVelocity(typedVelocity + (event.code === "KeyC" ? -20 : 20));
      event.preventDefault();
      return;
    }
    const offset = TYPED[event.code];
    if (offset === undefined) return;
    event.preventDefault();
    if (event.repeat || typedNotes.has(event.code)) return;
    const pitch = base() + offset;
    typedNotes.set(event.code, pitch);
    noteOn(pitch, typedVelocity);
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
  $("velocity-down").addEventListener("click", () => setVelocity(typedVelocity - 20));
  $("velocity-up").addEventListener("click", () => setVelocity(typedVelocity + 20));
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
