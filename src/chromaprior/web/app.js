// chromaprior's web page: open a photo, steer its colour with hints, download the result.
// The server keeps each photo's encoder features (POST api/photos); every edit of the hints
// asks for a 512-px preview (api/photos/ID/preview), at most one request in flight: edits
// made meanwhile are sent together when it returns. Hints are the command line's JSON: a
// list of points {x, y, rgb, radius} (photo pixels) or of strokes (lists of points).
"use strict";

const $ = id => document.getElementById(id);
const S = {
  config: null,      // GET api/config
  photo: null,       // the session: {id, name, width, height, preview: [w, h], steerable}
  file: null,        // the File it came from (sent again for jobs, or when the server forgot it)
  hints: [], undo: [], redo: [],
  version: 0,        // bumped by every change of what the result depends on
  busy: false, dirty: false,
  spot: null,        // the clicked spot whose colours are offered
  stroke: null,      // the drag in progress
  hot: -1,           // the hint under the mouse in the list
  popToken: 0, vivTouched: false, full: null, resultUrl: null,
};

const spec = () => (S.config && S.config.methods.find(m => m.name === $("method").value)) || {};
const steering = () => !!(spec().steerable && S.photo && S.photo.steerable);
const say = text => { $("status").textContent = text; };
const fail = text => { $("err").textContent = text ? "error: " + text : ""; };
const stem = name => name.replace(/\.[^.]*$/, "") || "photo";
const hex = rgb => "#" + rgb.map(v => Math.round(v).toString(16).padStart(2, "0")).join("");
const rgbOf = h => [1, 3, 5].map(i => parseInt(h.substr(i, 2), 16));
const radius = () => Math.max(1, Math.min(500, Number($("radius").value) || 4));
const points = h => (Array.isArray(h) ? h : [h]);

async function detail(r) {
  const body = await r.json().catch(() => ({}));
  return (typeof body.detail === "string" && body.detail) || r.statusText || `HTTP ${r.status}`;
}

function postHints(path, hints, query = "") {
  return fetch(`api/photos/${S.photo.id}/${path}${query ? "?" + query : ""}`,
               {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(hints)});
}

function colourQuery() {
  let q = `temperature=${$("temp").value}`;
  if (spec().vividness && S.vivTouched) q += `&vividness=${$("viv").value}`;
  return q;
}

// ------------------------------------------------------------------ set-up from the server
async function init() {
  const r = await fetch("api/config");
  S.config = await r.json();
  for (const m of S.config.methods) {
    const o = new Option(m.name + (m.steerable ? " (steer with hints)" : ""), m.name);
    o.title = m.summary;
    $("method").append(o);
  }
  $("method").value = S.config.method;
  for (const p of S.config.presets) $("preset").append(new Option(p, p));
  $("preset").value = S.config.preset;
  $("samples").max = S.config.max_samples;
  $("temp").min = Math.ceil(S.config.kelvin[0] / 100) * 100;  // on the slider's 100-K steps, so 6500 is one
  $("temp").max = Math.floor(S.config.kelvin[1] / 100) * 100;
  $("temp").value = 6500;
  $("file").accept = S.config.accept;
  for (const url of S.config.examples) {
    const name = url.split("/").pop(), im = document.createElement("img");
    im.src = url; im.alt = im.title = "example: " + stem(name); im.tabIndex = 0; im.className = "example";
    im.onclick = () => openExample(url, name);
    im.onkeydown = e => { if (e.key === "Enter") openExample(url, name); };
    $("examples").append(im);
  }
  methodChanged();
  listHints();
  document.body.dataset.ready = "1";
}

function methodChanged() {
  const m = spec();
  for (const id of ["presetl", "seedl", "samplesl"]) $(id).hidden = !m.sampled;
  $("vivl").hidden = !m.vividness;
  if (m.vividness) {
    $("viv").value = m.default_vividness;
    $("vivv").textContent = Number(m.default_vividness).toFixed(2);
    S.vivTouched = false;
  }
  const steer = !!m.steerable;
  $("go").hidden = $("prog").hidden = steer;
  $("download").hidden = !steer;
  $("result").hidden = $("galleryl").hidden = true;
  $("after").hidden = true;
  S.resultUrl = null;
  changed();
}

// ------------------------------------------------------------------------------ the photo
async function upload(file) {
  const form = new FormData();
  form.append("image", file, file.name || "pasted.png");
  form.append("recolor", $("recolor").checked);
  const r = await fetch("api/photos", {method: "POST", body: form});
  if (!r.ok) throw new Error(await detail(r));
  return r.json();
}

async function openFile(file, keep = false) {
  if (!file) return;
  fail(""); closePop();
  say(`opening ${file.name || "the pasted photo"}…`);
  try {
    S.photo = await upload(file);
  } catch (e) { say(""); fail(e.message); return; }
  S.file = file;
  if (!keep) {
    S.hints = []; S.undo = []; S.redo = [];
    $("radius").value = Math.max(2, Math.round(4 * Math.max(S.photo.width, S.photo.height) / 512));
  }
  setupStage();
  say("");
  updateHints();
}

async function openExample(url, name) {
  const r = await fetch(url);
  openFile(new File([await r.blob()], name, {type: "image/jpeg"}));
}

async function reopen() {  // the server forgot the photo (newer uploads): send it again, keep the hints
  if (!S.file) return false;
  try { S.photo = await upload(S.file); } catch (e) { fail(e.message); return false; }
  setupStage();
  return true;
}

function setupStage() {
  const [w, h] = S.photo.preview;
  $("stage").classList.remove("empty");
  $("marks").width = w; $("marks").height = h;
  $("before").src = `api/photos/${S.photo.id}/gray.png`;
  $("after").hidden = true; $("after").dataset.shown = "";
  $("photoname").textContent = `${S.photo.name}, ${S.photo.width}×${S.photo.height}`;
  $("result").hidden = $("galleryl").hidden = true;
  S.full = null;
}

// ------------------------------------------------------------------------------ the hints
function edit(hints) {
  S.undo.push(S.hints); S.redo = []; S.hints = hints;
  updateHints();
}

function undo() {
  if (!S.undo.length) return;
  S.redo.push(S.hints); S.hints = S.undo.pop();
  updateHints();
}

function redo() {
  if (!S.redo.length) return;
  S.undo.push(S.hints); S.hints = S.redo.pop();
  updateHints();
}

function updateHints() { draw(); listHints(); changed(); }

function changed() {  // what the result depends on changed
  S.version++; S.full = null;
  document.body.dataset.version = S.version;
  if (steering()) refresh();
}

function point(p, rgb) { return {x: p.x, y: p.y, rgb: rgb.map(Math.round), radius: radius()}; }

function listHints() {
  const ol = $("hintlist");
  ol.replaceChildren();
  S.hints.forEach((h, k) => {
    const pts = points(h), li = document.createElement("li"), chip = document.createElement("span");
    const del = document.createElement("button");
    chip.className = "chip"; chip.style.background = `rgb(${pts[0].rgb.join(",")})`;
    const where = `(${Math.round(pts[0].x)}, ${Math.round(pts[0].y)})`;
    const text = Array.isArray(h) ? `stroke of ${pts.length} points from ${where}` : `${where}, radius ${h.radius ?? 4}`;
    del.type = "button"; del.className = "del"; del.textContent = "×"; del.title = del.ariaLabel = `delete hint ${k + 1}`;
    del.onclick = () => { S.hot = -1; edit(S.hints.filter((_, i) => i !== k)); };
    li.append(chip, text, del);
    li.onmouseenter = () => { S.hot = k; draw(); li.classList.add("hot"); };
    li.onmouseleave = () => { S.hot = -1; draw(); li.classList.remove("hot"); };
    ol.append(li);
  });
  const n = S.hints.length;
  $("nhints").textContent = n === 1 ? "1 hint" : `${n || "no"} hints`;
  $("undo").disabled = !S.undo.length; $("redo").disabled = !S.redo.length;
  $("clear").disabled = $("export").disabled = !n;
}

function draw() {
  const c = $("marks"), ctx = c.getContext("2d");
  ctx.clearRect(0, 0, c.width, c.height);
  if (!S.photo) return;
  const s = c.width / S.photo.width, at = v => (v + 0.5) * s;
  const items = S.hints.map((h, k) => [h, k === S.hot]);
  if (S.stroke && S.stroke.drag) items.push([S.stroke.points.map(p => point(p, rgbOf($("colour").value))), true]);
  for (const [h, hot] of items) {
    const pts = points(h);
    const r = Math.max(3, (pts[0].radius ?? 4) * s);
    ctx.lineCap = ctx.lineJoin = "round";
    if (pts.length === 1) {
      ctx.beginPath(); ctx.arc(at(pts[0].x), at(pts[0].y), r, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${pts[0].rgb.join(",")})`; ctx.fill();
      ctx.lineWidth = hot ? 3 : 1.5; ctx.strokeStyle = "#fff"; ctx.stroke();
      ctx.beginPath(); ctx.arc(at(pts[0].x), at(pts[0].y), r + 1.5, 0, 2 * Math.PI);
      ctx.lineWidth = 1; ctx.strokeStyle = "#000"; ctx.stroke();
      continue;
    }
    for (const [width, colour] of [[2 * r + (hot ? 5 : 3), "#000"], [2 * r + 1.5, "#fff"], [2 * r, null]]) {
      for (let i = 1; i < pts.length; i++) {
        ctx.beginPath(); ctx.moveTo(at(pts[i - 1].x), at(pts[i - 1].y)); ctx.lineTo(at(pts[i].x), at(pts[i].y));
        ctx.lineWidth = width; ctx.strokeStyle = colour || `rgb(${pts[i - 1].rgb.join(",")})`; ctx.stroke();
      }
    }
  }
  if (S.spot) {
    ctx.setLineDash([4, 3]); ctx.lineWidth = 2; ctx.strokeStyle = "#fff";
    ctx.beginPath(); ctx.arc(at(S.spot.x), at(S.spot.y), Math.max(6, radius() * s), 0, 2 * Math.PI); ctx.stroke();
    ctx.setLineDash([]);
  }
}

// ------------------------------------------------------ clicks (suggestions) and strokes
function photoXY(ev) {
  const r = $("marks").getBoundingClientRect(), W = S.photo.width, H = S.photo.height;
  const cx = ev.clientX - r.left, cy = ev.clientY - r.top;
  return {x: Math.min(W - 1, Math.max(0, Math.floor(cx * W / r.width))),
          y: Math.min(H - 1, Math.max(0, Math.floor(cy * H / r.height))), cx, cy};
}

function pointerDown(ev) {
  if (!S.photo || ev.button !== 0) return;
  closePop();
  const p = photoXY(ev);
  S.stroke = {points: [p], start: p, drag: false};
  $("marks").setPointerCapture(ev.pointerId);
}

function pointerMove(ev) {
  const st = S.stroke;
  if (!st) return;
  const p = photoXY(ev), last = st.points[st.points.length - 1];
  if (!st.drag && Math.hypot(p.cx - st.start.cx, p.cy - st.start.cy) < 5) return;
  st.drag = true;
  if (Math.hypot(p.x - last.x, p.y - last.y) >= Math.max(1, radius() / 2)) { st.points.push(p); draw(); }
}

function pointerUp() {
  const st = S.stroke;
  S.stroke = null;
  if (!st) return;
  if (st.drag && st.points.length > 1) edit([...S.hints, st.points.map(p => point(p, rgbOf($("colour").value)))]);
  else openPop(st.start);
}

async function openPop(p) {
  S.spot = p; draw();
  const pop = $("pop"), box = $("swatches"), token = ++S.popToken;
  pop.hidden = false; pop.dataset.ready = "";
  box.replaceChildren();
  $("pick").value = $("colour").value;
  if (!steering()) { box.hidden = true; placePop(p); pop.dataset.ready = "1"; return; }
  box.hidden = false;
  const wait = document.createElement("div");
  wait.className = "wait"; wait.textContent = "finding the likely colours…";
  box.append(wait);
  placePop(p);
  let r = await postHints("suggest", S.hints, `x=${p.x}&y=${p.y}&top=6`);
  if (r.status === 404 && await reopen()) r = await postHints("suggest", S.hints, `x=${p.x}&y=${p.y}&top=6`);
  if (token !== S.popToken) return;
  if (!r.ok) { wait.textContent = await detail(r); return; }
  const list = await r.json();
  if (token !== S.popToken) return;
  wait.remove();
  for (const s of list) {
    const b = document.createElement("button"), pct = document.createElement("span");
    b.type = "button"; b.className = "swatch"; b.style.background = `rgb(${s.rgb.join(",")})`;
    b.dataset.rgb = s.rgb.join(","); b.title = `rgb(${s.rgb.join(", ")}): ${Math.round(100 * s.p)} %`;
    pct.textContent = `${Math.round(100 * s.p)}%`;
    b.append(pct);
    b.onclick = () => choose(s.rgb);
    box.append(b);
  }
  placePop(p);
  pop.dataset.ready = "1";
}

function placePop(p) {  // beside the click, inside the photo where it fits
  const pop = $("pop"), stage = $("stage"), gap = 14;
  const left = p.cx + gap + pop.offsetWidth > stage.clientWidth ? p.cx - gap - pop.offsetWidth : p.cx + gap;
  const top = p.cy + gap + pop.offsetHeight > stage.clientHeight ? p.cy - gap - pop.offsetHeight : p.cy + gap;
  pop.style.left = Math.max(0, left) + "px";
  pop.style.top = Math.max(0, top) + "px";
}

function closePop() { S.popToken++; S.spot = null; $("pop").hidden = true; draw(); }

function choose(rgb) {
  const p = S.spot;
  if (!p) return;
  closePop();
  $("colour").value = hex(rgb);
  edit([...S.hints, point(p, rgb)]);
}

// ------------------------------------------------------------------ preview and results
function show(img, url) {
  return new Promise(resolve => {
    const old = img.src;
    img.onload = img.onerror = () => { if (old.startsWith("blob:")) URL.revokeObjectURL(old); resolve(); };
    img.src = url;
  });
}

async function refresh() {
  if (S.busy) { S.dirty = true; return; }
  S.busy = true; document.body.dataset.busy = "1";
  try {
    do {
      S.dirty = false;
      if (!steering()) break;
      const v = S.version;
      say("updating the preview…");
      const r = await postHints("preview", S.hints, colourQuery());
      if (r.status === 404 && await reopen()) { S.dirty = true; continue; }
      if (!r.ok) { fail(await detail(r)); say(""); break; }
      await show($("after"), URL.createObjectURL(await r.blob()));
      $("after").hidden = false; $("after").dataset.shown = v;
      fail(""); say("");
    } while (S.dirty);
  } finally {
    S.busy = false; document.body.dataset.busy = "";
  }
}

async function fullResult() {
  if (!steering()) {
    if (!S.resultUrl) throw new Error("no result yet: press Colorize");
    return S.resultUrl;
  }
  if (S.full && S.full.version === S.version) return S.full.url;
  const v = S.version;
  say("colorizing at full size…");
  let r = await postHints("download", S.hints, colourQuery());
  if (r.status === 404 && await reopen()) r = await postHints("download", S.hints, colourQuery());
  say("");
  if (!r.ok) throw new Error(await detail(r));
  S.full = {version: v, url: URL.createObjectURL(await r.blob())};
  return S.full.url;
}

function save(url, name) { const a = $("save"); a.href = url; a.download = name; a.click(); }

async function downloadResult() {
  try { save(await fullResult(), stem(S.photo.name) + "-colorized.png"); } catch (e) { fail(e.message); }
}

async function fullSize() {
  try { $("fullimg").src = await fullResult(); $("full").hidden = false; } catch (e) { fail(e.message); }
}

// ----------------------------------------------------------- the queued methods (jobs)
function choose_result(url, name, thumb) {
  S.resultUrl = url;
  $("after").src = url; $("after").hidden = false; $("after").dataset.shown = S.version;
  $("result").href = url; $("result").download = name; $("result").hidden = false;
  for (const t of document.querySelectorAll("#gallery img")) t.classList.toggle("chosen", t === thumb);
}

function gallery(job, seeds) {
  const g = $("gallery");
  g.replaceChildren();
  seeds.forEach((seed, k) => {
    const url = `api/jobs/${job}/samples/${k}.png`, name = `colorized-s${seed}.png`;
    const fig = document.createElement("figure"), im = document.createElement("img"), a = document.createElement("a");
    im.src = url; im.alt = `seed ${seed}`; im.onclick = () => choose_result(url, name, im);
    a.href = url; a.download = name; a.textContent = `seed ${seed}: download`;
    fig.append(im, document.createElement("br"), a);
    g.append(fig);
  });
  $("galleryl").hidden = seeds.length < 2;
}

async function poll(job) {
  while (true) {
    const rs = await fetch(`api/jobs/${job}`);
    const s = await rs.json().catch(() => ({}));
    if (!rs.ok) throw new Error(s.detail || rs.statusText);
    $("prog").max = s.total; $("prog").value = s.done; say(`${s.state} ${s.done}/${s.total}`);
    if (s.state === "failed") throw new Error(s.error);
    if (s.state === "done") return s;
    await new Promise(res => setTimeout(res, 250));
  }
}

async function colorizeJob() {
  if (!S.file) return;
  const m = spec(), form = new FormData();
  fail(""); say("uploading"); $("go").disabled = true; $("result").hidden = $("galleryl").hidden = true;
  form.append("image", S.file, S.file.name || "pasted.png"); form.append("method", m.name);
  form.append("preset", $("preset").value); form.append("temperature", $("temp").value);
  form.append("seed", $("seed").value || "0"); form.append("recolor", $("recolor").checked);
  if (m.vividness) form.append("vividness", $("viv").value);
  if (m.sampled) form.append("samples", $("samples").value);
  form.append("hints", JSON.stringify(S.hints));
  try {
    const r = await fetch("api/colorize", {method: "POST", body: form});
    const body = await r.json().catch(() => ({}));
    if (r.status === 503) throw new Error(`${body.detail || "server busy"} (retry in ${r.headers.get("Retry-After") || "a few"} s)`);
    if (!r.ok) throw new Error(body.detail || r.statusText);
    const s = await poll(body.job);
    if ((s.samples || 1) > 1) {
      gallery(body.job, s.seeds);
      choose_result(`api/jobs/${body.job}/samples/0.png`, `colorized-s${s.seeds[0]}.png`, document.querySelector("#gallery img"));
    } else {
      choose_result(`api/jobs/${body.job}/result.png`, "colorized.png", null);
    }
    say("done");
  } catch (e) { fail(e.message); say(""); }
  $("go").disabled = false;
}

// ------------------------------------------------------------------ export and import
function exportHints() {
  const blob = new Blob([JSON.stringify(S.hints, null, 1)], {type: "application/json"});
  save(URL.createObjectURL(blob), stem(S.photo ? S.photo.name : "photo") + ".hints.json");
}

async function importHints() {
  const f = $("import").files[0];
  $("import").value = "";
  if (!f) return;
  if (!S.photo) { fail(`${f.name}: open the photo first`); return; }
  const text = await f.text();
  let data;
  try { data = JSON.parse(text); } catch (e) { fail(`${f.name}: hints are not valid JSON (${e.message})`); return; }
  const r = await fetch(`api/photos/${S.photo.id}/hints`, {method: "POST", headers: {"Content-Type": "application/json"}, body: text});
  if (!r.ok) { fail((await detail(r)).replace(/^hints: /, f.name + ": ")); return; }
  fail("");
  edit(data);
}

// --------------------------------------------------------------------------- wiring
$("file").onchange = () => openFile($("file").files[0]);
$("recolor").onchange = () => { if (S.file) openFile(S.file, true); };
$("method").onchange = methodChanged;
$("temp").oninput = () => { $("tempv").textContent = $("temp").value; changed(); };
$("viv").oninput = () => { $("vivv").textContent = Number($("viv").value).toFixed(2); S.vivTouched = true; changed(); };
$("compare").oninput = () => {  // the gray (before) left of the divider, the colour (after) right of it
  const v = Number($("compare").value);
  $("after").style.clipPath = `inset(0 0 0 ${v}%)`;
  $("divider").style.left = v + "%"; $("divider").hidden = v >= 100 || v <= 0;
};
$("showmarks").onchange = () => { $("marks").classList.toggle("faint", !$("showmarks").checked); };
$("marks").addEventListener("pointerdown", pointerDown);
$("marks").addEventListener("pointermove", pointerMove);
$("marks").addEventListener("pointerup", pointerUp);
$("marks").addEventListener("pointercancel", () => { S.stroke = null; draw(); });
$("popclose").onclick = closePop;
$("pickuse").onclick = () => choose(rgbOf($("pick").value));
$("pick").onchange = () => choose(rgbOf($("pick").value));
$("undo").onclick = undo;
$("redo").onclick = redo;
$("clear").onclick = () => { if (S.hints.length) edit([]); };
$("export").onclick = exportHints;
$("import").onchange = importHints;
$("go").onclick = colorizeJob;
$("download").onclick = downloadResult;
$("fullsize").onclick = fullSize;
$("fullclose").onclick = () => { $("full").hidden = true; };
$("full").onclick = e => { if (e.target === $("full")) $("full").hidden = true; };

document.addEventListener("keydown", e => {
  if (e.key === "Escape") { closePop(); $("full").hidden = true; return; }
  if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName) || !(e.ctrlKey || e.metaKey)) return;
  const k = e.key.toLowerCase();
  if (k === "z" && !e.shiftKey) { e.preventDefault(); undo(); } else if ((k === "z" && e.shiftKey) || k === "y") { e.preventDefault(); redo(); }
});
document.addEventListener("dragover", e => {
  if (e.dataTransfer && [...e.dataTransfer.types].includes("Files")) { e.preventDefault(); $("open").classList.add("over"); }
});
document.addEventListener("dragleave", e => { if (!e.relatedTarget) $("open").classList.remove("over"); });
document.addEventListener("drop", e => {
  e.preventDefault(); $("open").classList.remove("over");
  const f = e.dataTransfer && e.dataTransfer.files[0];
  if (f) openFile(f);
});
document.addEventListener("paste", e => {
  const f = e.clipboardData && [...e.clipboardData.files][0];
  if (f) { e.preventDefault(); openFile(f); }
});

init().catch(e => fail("the page could not start: " + e.message));
