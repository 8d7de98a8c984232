// tumorseg viewer: NiiVue in the browser, talking to `tumorseg serve` (see server/API.md).
//
// Voxel coordinates sent to the server are [i, j, k] indices of the study's image array
// (tumorseg's axis order, = the NIfTI file's own voxel order). NiiVue reorients volumes to
// RAS internally, so the app never uses NiiVue's RAS voxel numbers: it converts the RAS mm
// position under the mouse with the inverse of the NIfTI header's affine instead.
import {
  Niivue, NVImage, SLICE_TYPE, SHOW_RENDER, MULTIPLANAR_TYPE, DRAG_MODE,
} from "/vendor/niivue/index.js";
import { ApiError, api, authHeaders, upload, withToken } from "./api.js";
import { apply4, boxFromDrag, invert4, mat4FromRows } from "./geometry.js";
import { boxRects, clickMarks, drawPrompts } from "./markers.js";
import { PALETTE, applyPatch, initOverlay, loadMask, overlayAt } from "./overlay.js";

const params = new URLSearchParams(window.location.search);
// "patch" (default): copy the changed box (GET mask-patch) into the overlay;
// "refetch": reload the whole mask.nii.gz after every change (slower, kept for benchmarks).
const OVERLAY_MODE = params.get("overlay") === "refetch" ? "refetch" : "patch";
// 3D view: "1" on, "0" off; default on, except with software WebGL (SwiftShader, llvmpipe),
// where ray-casting every frame costs seconds on a CPU.
const RENDER_PARAM = params.get("render");

// Window/level presets (W, L) in HU; "auto" = 2nd–98th percentile (MRI, PET).
const PRESETS = {
  abdomen: { W: 400, L: 40 },
  lung: { W: 1500, L: -600 },
  bone: { W: 2000, L: 300 },
  brain: { W: 80, L: 40 },
  auto: null,
};
const PRESET_KEYS = ["abdomen", "lung", "bone", "brain", "auto"];

const $ = (sel) => document.querySelector(sel);

const app = {
  nv: null,
  study: null, // session info from POST /api/sessions
  state: null, // latest state
  lesions: [], // latest GET lesions table
  invAffine: null, // RAS mm -> native voxel
  affine: null, // native voxel -> RAS mm
  queue: Promise.resolve(),
  busyCount: 0,
  overlayVersion: -1,
  timings: {}, // ms of the last update: server, overlay, draw, frame (for benchmarks)
  boxMode: false, // left-drag draws a box prompt instead of clicking
  marks: [], // click markers drawn last (device px; for tests)
  boxes: [], // box rectangles drawn last (device px; for tests)
};
window.__tv = app; // for the end-to-end tests and benchmarks
window.__lastOverlayVersion = -1;

function sessionPath(suffix) {
  return `/api/sessions/${encodeURIComponent(app.study.session_id)}/${suffix}`;
}

// ------------------------------------------------------------------ UI helpers
function showError(message) {
  $("#error-text").textContent = message;
  $("#error").hidden = false;
}

function hideError() {
  $("#error").hidden = true;
}

function setBusy(on, text = "working…") {
  app.busyCount += on ? 1 : -1;
  const busy = app.busyCount > 0;
  if (busy && $("#busy").hidden) app.busyShown = (app.busyShown || 0) + 1; // for tests
  $("#busy").hidden = !busy;
  $("#busy-text").textContent = text;
  document.body.dataset.busy = busy ? "1" : "0";
}

// Run actions one after another (a click waits for the previous one), with busy + errors.
function enqueue(label, fn) {
  const run = async () => {
    setBusy(true, label);
    try {
      await fn();
      hideError();
    } catch (err) {
      showError(err instanceof ApiError ? err.message : `error: ${err.message || err}`);
      if (!(err instanceof ApiError)) console.error(err);
    } finally {
      setBusy(false);
    }
  };
  app.queue = app.queue.then(run, run);
  return app.queue;
}

// ------------------------------------------------------------------ studies
async function loadStudies() {
  const list = $("#studies");
  try {
    const studies = await api("/api/studies");
    app.studies = studies;
    list.replaceChildren();
    if (!studies.length) {
      list.innerHTML = '<li class="muted">no scans in the data folder</li>';
      return;
    }
    for (const s of studies) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.dataset.study = s.id;
      const name = document.createElement("span");
      name.textContent = s.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      const modality = s.modality && s.modality !== "unknown" ? s.modality : "";
      meta.textContent = `${modality} ${s.shape ? s.shape.join("×") : ""}`.trim();
      b.append(name, meta);
      b.addEventListener("click", () => enqueue("opening…", () => openStudy(s)));
      li.append(b);
      list.append(li);
    }
  } catch (err) {
    list.innerHTML = "";
    showError(err.message);
  }
}

async function openStudy(study) {
  const info = await api("/api/sessions", { method: "POST", body: { study_id: study.id } });
  app.study = { ...info, name: study.name };
  for (const b of document.querySelectorAll("#studies button")) {
    b.classList.toggle("current", b.dataset.study === study.id);
  }
  const shown = info.modality && info.modality !== "unknown" ? ` · ${info.modality}` : "";
  $("#study-title").textContent = `${study.name}${shown} · ${info.shape.join("×")}`;
  $("#placeholder").hidden = true;
  $("#render-off").hidden = app.render3D;
  const nv = app.nv;
  while (nv.volumes.length) nv.removeVolume(nv.volumes[nv.volumes.length - 1]);
  nv.drawBitmap = null;
  // load, window, then hand to NiiVue: one upload to the GPU (each costs seconds with
  // software WebGL on a 512×512×100 CT)
  const tOpen = performance.now();
  const img = await NVImage.loadFromUrl({
    url: withToken(sessionPath("image.nii.gz")), name: "image.nii.gz", headers: authHeaders(),
  });
  app.affine = mat4FromRows(img.hdr.affine);
  app.invAffine = invert4(app.affine);
  // CT (or an unlabelled scan in HU): abdomen window; MRI, PET: percentiles.
  const modality = String(info.modality || "").toUpperCase();
  const looksCt = modality === "CT"
    || (!["MR", "MRI", "PT", "PET"].includes(modality) && img.global_min <= -500);
  app.isCt = looksCt;
  const preset = looksCt ? "abdomen" : "auto";
  setWindow(img, preset);
  const tLoaded = performance.now();
  nv.addVolume(img);
  markPreset(preset);
  const tShown = performance.now();
  initOverlay(nv);
  // a session without lesions has an empty mask: the new empty overlay already shows it
  const empty = !(info.lesions && info.lesions.length);
  app.state = empty ? info : null;
  await applyState(info, { fullReload: !empty });
  // seconds: download + parse, GPU upload, mask + first frame (for benchmarks)
  app.timings.open = { load: (tLoaded - tOpen) / 1000, upload: (tShown - tLoaded) / 1000,
    mask: (performance.now() - tShown) / 1000 };
}

// ------------------------------------------------------------------ overlay
app.overlayAt = (ijk) => overlayAt(app.nv, ijk); // for tests

async function reloadMask() {
  await loadMask(app.nv, withToken(sessionPath("mask.nii.gz")), authHeaders());
}

// Copy the box the server changed (GET mask-patch) into the overlay.
async function patchMask(lo, hi) {
  const q = `lo=${lo.join(",")}&hi=${hi.join(",")}`;
  const t0 = performance.now();
  const patch = await api(sessionPath(`mask-patch?${q}`));
  app.timings.fetch = performance.now() - t0;
  applyPatch(app.nv, patch);
}

// Resolves once the browser has painted the frame drawn for `version`.
function markOverlayDrawn(version) {
  app.overlayVersion = version;
  const t = performance.now();
  return new Promise((resolve) => {
    requestAnimationFrame(() => {
      app.timings.frame = performance.now() - t;
      window.__lastOverlayVersion = version;
      document.body.dataset.overlayVersion = String(version);
      resolve();
    });
  });
}

async function applyState(state, { fullReload = false } = {}) {
  const previous = app.state;
  app.state = state;
  const nv = app.nv;
  const t0 = performance.now();
  if (app.study && nv.drawBitmap) {
    // `changed` is the box the last action changed (null: the mask did not change); a
    // version jump of more than one (another tab on the same session) needs the whole mask
    const missed = !previous || state.version !== previous.version + 1;
    const changedVersion = !previous || previous.version !== state.version;
    if (fullReload || (changedVersion && (missed || OVERLAY_MODE === "refetch"))) {
      await reloadMask();
    } else if (changedVersion && state.changed) {
      try {
        await patchMask(state.changed.lo, state.changed.hi);
      } catch (err) {
        console.warn(`mask-patch failed (${err.message}); reloading the whole mask`);
        await reloadMask();
      }
    }
  }
  const t1 = performance.now();
  nv.drawScene();
  app.timings.overlay = t1 - t0;
  app.timings.draw = performance.now() - t1;
  updateControls();
  // the lesion table (measurements on the server) waits until the overlay is on screen
  await markOverlayDrawn(state.version);
  await refreshLesions();
}

// ------------------------------------------------------------------ lesions
async function refreshLesions() {
  try {
    const table = await api(sessionPath("lesions"));
    app.lesions = Array.isArray(table) ? table : table.lesions || [];
  } catch (err) {
    app.lesions = [];
    showError(err.message);
  }
  renderLesions();
}

function fmt(v, d = 1) {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d);
}

function renderLesions() {
  const body = $("#lesions tbody");
  body.replaceChildren();
  const active = app.state ? app.state.active_lesion : null;
  const accepted = new Map((app.state?.lesions || []).map((l) => [l.id, l.accepted]));
  if (!app.lesions.length) {
    body.innerHTML = `<tr><td colspan="6" class="muted">none — click on a lesion${
      active ? ` (active: lesion ${active})` : ""}</td></tr>`;
    return;
  }
  for (const l of app.lesions) {
    const tr = document.createElement("tr");
    tr.className = "lesion" + (l.id === active ? " active" : "");
    tr.dataset.lesion = l.id;
    const [r, g, b] = PALETTE[(l.id - 1) % PALETTE.length];
    const isAcc = l.accepted ?? accepted.get(l.id);
    tr.innerHTML = `<td><span class="swatch" style="background: rgb(${r},${g},${b})"></span></td>
      <td>${l.id}${isAcc ? ' <span class="acc" title="accepted">✓</span>' : ""}</td>
      <td>${fmt(l.volume_ml, 2)}</td>
      <td>${fmt(l.recist_long_mm)} / ${fmt(l.recist_short_mm)}</td>
      <td>${fmt(l.max_3d_mm)}</td>
      <td class="actions"></td>`;
    const actions = tr.querySelector(".actions");
    const acc = document.createElement("button");
    acc.textContent = "✓";
    acc.title = "Accept this lesion (a)";
    acc.setAttribute("aria-label", "accept");
    acc.disabled = !!isAcc;
    acc.addEventListener("click", (e) => { e.stopPropagation(); acceptLesion(l.id); });
    const del = document.createElement("button");
    del.textContent = "✕";
    del.title = "Delete this lesion (Delete)";
    del.setAttribute("aria-label", "delete");
    del.addEventListener("click", (e) => { e.stopPropagation(); deleteLesion(l.id); });
    actions.append(acc, del);
    tr.addEventListener("click", () => selectLesion(l.id, l.centroid_mm));
    body.append(tr);
  }
}

function goToLps(mmLps) {
  if (!mmLps) return;
  const ras = [-mmLps[0], -mmLps[1], mmLps[2]];
  const frac = app.nv.mm2frac(ras);
  app.nv.scene.crosshairPos = frac;
  app.nv.drawScene();
  app.nv.createOnLocationChange();
}

function selectLesion(id, centroid) {
  goToLps(centroid);
  return enqueue("selecting…", async () => {
    await applyState(await api(sessionPath("select"), { method: "POST", body: { lesion: id } }));
  });
}

function acceptLesion(id) {
  if (!id) return;
  enqueue("accepting…", async () => {
    await applyState(await api(sessionPath(`lesions/${id}/accept`), { method: "POST" }));
  });
}

function deleteLesion(id) {
  if (!id) return;
  enqueue("deleting…", async () => {
    await applyState(await api(sessionPath(`lesions/${id}`), { method: "DELETE" }));
  });
}

function simpleAction(name, label) {
  if (!app.study) return;
  enqueue(label, async () => {
    await applyState(await api(sessionPath(name), { method: "POST" }));
  });
}

function updateControls() {
  const open = !!app.study;
  $("#undo").disabled = !open || !app.state?.can_undo;
  $("#redo").disabled = !open || !app.state?.can_redo;
  for (const id of ["#new-lesion", "#auto", "#box-tool"]) $(id).disabled = !open;
  for (const b of document.querySelectorAll("[data-export]")) b.disabled = !open;
}

// ------------------------------------------------------------------ clicks
// Native voxel index [i, j, k] under a canvas position (device pixels), or null.
function voxelAt(xDev, yDev) {
  const nv = app.nv;
  const tile = nv.tileIndex(xDev, yDev);
  if (tile < 0) return null;
  const st = nv.screenSlices[tile]?.axCorSag;
  if (st === undefined || st > SLICE_TYPE.SAGITTAL) return null; // 3D render tile
  const frac = nv.canvasPos2frac([xDev, yDev]);
  if (!frac || frac[0] < 0) return null;
  const mm = nv.frac2mm(frac);
  const ijk = apply4(app.invAffine, [mm[0], mm[1], mm[2]]).map(Math.round);
  const dims = nv.volumes[0].hdr.dims;
  for (let a = 0; a < 3; a++) if (ijk[a] < 0 || ijk[a] >= dims[a + 1]) return null;
  return { ijk, plane: ["axial", "coronal", "sagittal"][st] };
}

// Canvas position (CSS pixels, relative to the canvas) of voxel ijk in a 2D plane
// (0 axial, 1 coronal, 2 sagittal); moves the crosshair there so that plane shows it.
function canvasPosOfVoxel(ijk, plane = SLICE_TYPE.AXIAL) {
  const nv = app.nv;
  const mm = apply4(app.affine, ijk);
  const frac = nv.mm2frac(mm);
  nv.scene.crosshairPos = frac;
  nv.drawScene();
  const hit = nv.frac2canvasPosWithTile(frac, plane);
  if (!hit) return null;
  const dpr = nv.uiData.dpr || window.devicePixelRatio || 1;
  return { x: hit.pos[0] / dpr, y: hit.pos[1] / dpr, tile: hit.tileIndex };
}
app.canvasPosOfVoxel = canvasPosOfVoxel;
app.voxelAt = voxelAt;

function sendClick(ijk, positive) {
  const lesion = null;
  enqueue("segmenting…", async () => {
    const t0 = performance.now();
    const state = await api(sessionPath("clicks"), { method: "POST", body: { ijk, positive, lesion } });
    app.timings.server = performance.now() - t0;
    await applyState(state);
    app.lastClickMs = performance.now() - t0;
  });
}

function installClickHandler(canvas) {
  let down = null;
  canvas.addEventListener("pointerdown", (e) => {
    down = e.button === 0 ? { x: e.clientX, y: e.clientY, shift: e.shiftKey } : null;
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!down || e.button !== 0 || !app.study) return;
    const moved = Math.hypot(e.clientX - down.x, e.clientY - down.y);
    const shift = down.shift || e.shiftKey;
    down = null;
    if (moved > 4 || app.boxMode) return; // a drag, or a box (see onDragRelease)
    const rect = canvas.getBoundingClientRect();
    const dpr = app.nv.uiData.dpr || window.devicePixelRatio || 1;
    const hit = voxelAt((e.clientX - rect.left) * dpr, (e.clientY - rect.top) * dpr);
    if (!hit) return;
    sendClick(hit.ijk, !(shift || $("#negative").checked));
  });
}

// ------------------------------------------------------------------ prompt markers
// Redraw the active lesion's clicks and box over NiiVue's canvas (after each NiiVue frame).
function redrawPrompts() {
  const nv = app.nv;
  const prompts = app.study ? app.state?.prompts : null;
  app.marks = prompts ? clickMarks(nv, app.affine, prompts.clicks) : [];
  app.boxes = prompts ? boxRects(nv, app.affine, prompts.box) : [];
  const u = nv.uiData;
  const drag = app.boxMode && u.mousedown && u.isDragging && u.mouseButtonLeftDown
    ? [u.dragStart[0], u.dragStart[1], u.dragEnd[0], u.dragEnd[1]] : null;
  drawPrompts($("#prompts"), nv, app.marks, app.boxes, drag);
}

function hookDrawScene(nv) {
  const draw = nv.drawScene.bind(nv);
  nv.drawScene = () => {
    const out = draw();
    redrawPrompts();
    return out;
  };
}

// ------------------------------------------------------------------ box prompt
// Mouse buttons: left `left` (crosshair = click, callbackOnly = box), right window/level,
// middle pan. (NiiVue 0.69 ignores `mouseEventConfig` given to its constructor.)
function mouseConfig(left) {
  return {
    leftButton: { primary: left, withShift: left },
    rightButton: DRAG_MODE.contrast,
    centerButton: DRAG_MODE.pan,
  };
}

function setBoxMode(on) {
  if (on && !app.study) return;
  app.boxMode = on;
  app.nv.setMouseEventConfig(mouseConfig(on ? DRAG_MODE.callbackOnly : DRAG_MODE.crosshair));
  $("#box-tool").classList.toggle("active", on);
  $("#box-hint").hidden = !on;
  document.body.classList.toggle("box-mode", on);
}

// NiiVue's drag release (callbackOnly mode): fractions of the drag's start and end.
function onDragRelease(p) {
  if (!app.boxMode || !app.study || p.tileIdx < 0 || p.axCorSag > SLICE_TYPE.SAGITTAL) return;
  if (app.nv.getCurrentDragMode() !== DRAG_MODE.callbackOnly) return; // right/middle drag
  if (p.fracStart[0] < 0 || p.fracEnd[0] < 0) return; // started or ended outside the image
  const nv = app.nv;
  const toIjk = (frac) => {
    const mm = nv.frac2mm(frac);
    return apply4(app.invAffine, [mm[0], mm[1], mm[2]]).map(Math.round);
  };
  const a = toIjk(p.fracStart), b = toIjk(p.fracEnd);
  const depthAxis = Math.abs(nv.volumes[0].permRAS[[2, 1, 0][p.axCorSag]]) - 1;
  const small = [0, 1, 2].filter((x) => x !== depthAxis).some((x) => Math.abs(a[x] - b[x]) < 1);
  if (small) return; // a click, not a rectangle
  const box = boxFromDrag(a, b, depthAxis, app.study.spacing, app.study.shape);
  sendBox(box);
}

function sendBox(box) {
  app.lastBox = box;
  enqueue("segmenting the box…", async () => {
    const t0 = performance.now();
    const body = { lo: box.lo, hi: box.hi, lesion: null };
    await applyState(await api(sessionPath("box"), { method: "POST", body }));
    app.timings.server = performance.now() - t0;
  });
}

// ------------------------------------------------------------------ upload
function uploadFile(file) {
  if (!file) return;
  enqueue(`uploading ${file.name}…`, async () => {
    const study = await upload("/api/studies/upload", file, (f) => {
      $("#busy-text").textContent = f < 1 ? `uploading ${file.name}… ${Math.round(f * 100)}%`
        : `reading ${file.name}…`;
    });
    await loadStudies();
    $("#busy-text").textContent = `opening ${study.name}…`;
    await openStudy(study);
  });
}

function installDropTarget(target) {
  let depth = 0; // dragenter/dragleave also fire for the children
  const hint = (on) => { $("#drop-hint").hidden = !on; };
  const files = (e) => Array.from(e.dataTransfer?.types || []).includes("Files");
  target.addEventListener("dragenter", (e) => { if (files(e)) { depth++; hint(true); } });
  target.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); hint(depth > 0); });
  target.addEventListener("dragover", (e) => { if (files(e)) e.preventDefault(); });
  target.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    hint(false);
    const list = e.dataTransfer?.files;
    if (list && list.length > 1) showError("upload: drop one file (a NIfTI or one .zip of a DICOM series)");
    else uploadFile(list?.[0]);
  });
}

// ------------------------------------------------------------------ window/level, zoom
function setWindow(vol, name) {
  const p = PRESETS[name];
  if (p) {
    vol.cal_min = p.L - p.W / 2;
    vol.cal_max = p.L + p.W / 2;
  } else {
    vol.cal_min = vol.robust_min ?? vol.global_min;
    vol.cal_max = vol.robust_max ?? vol.global_max;
  }
}

function markPreset(name) {
  for (const b of document.querySelectorAll("[data-preset]")) {
    b.classList.toggle("active", b.dataset.preset === name);
  }
  showWindow();
}

function applyPreset(name) {
  const vol = app.nv?.volumes[0];
  if (!vol) return;
  setWindow(vol, name);
  app.nv.refreshLayers(vol, 0); // re-window the image only (not the overlay)
  app.nv.drawScene();
  markPreset(name);
}

function showWindow() {
  const vol = app.nv?.volumes[0];
  if (!vol) return;
  const W = vol.cal_max - vol.cal_min, L = (vol.cal_max + vol.cal_min) / 2;
  $("#wl-readout").textContent = `W ${Math.round(W)}  L ${Math.round(L)}`;
}

function softwareRenderer(gl) {
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  return /swiftshader|llvmpipe|software/i.test(name);
}

function setRender(on) {
  app.render3D = on;
  app.nv.opts.multiplanarShowRender = on ? SHOW_RENDER.ALWAYS : SHOW_RENDER.NEVER;
  $("#render-toggle").classList.toggle("active", on);
  $("#render-off").hidden = on || !app.study;
  app.nv.drawScene();
}

function zoom(factor) {
  const p = app.nv.scene.pan2Dxyzmm;
  if (factor === 0) app.nv.setPan2Dxyzmm([0, 0, 0, 1]);
  else app.nv.setPan2Dxyzmm([p[0], p[1], p[2], Math.min(8, Math.max(0.5, p[3] * factor))]);
}

// ------------------------------------------------------------------ export
function exportAs(format) {
  if (!app.study) return;
  enqueue(`exporting ${format}…`, async () => {
    const { url } = await api(sessionPath("export"), { method: "POST", body: { format } });
    const a = document.createElement("a");
    a.href = withToken(url);
    a.download = url.split("/").pop();
    document.body.append(a);
    a.click();
    a.remove();
    app.lastExportUrl = url;
  });
}

// ------------------------------------------------------------------ keyboard
function toggleHelp(show) {
  $("#help").hidden = show === undefined ? !$("#help").hidden : !show;
}

function onKey(e) {
  if (e.target instanceof HTMLInputElement && e.target.type !== "checkbox") return;
  const k = e.key;
  if (k === "Escape") { toggleHelp(false); hideError(); return; }
  if (k === "?" || k === "h") { toggleHelp(); return; }
  if ((e.ctrlKey || e.metaKey) && (k === "z" || k === "Z")) { e.preventDefault(); simpleAction("undo", "undoing…"); return; }
  if ((e.ctrlKey || e.metaKey) && (k === "y" || k === "Y")) { e.preventDefault(); simpleAction("redo", "redoing…"); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const idx = "12345".indexOf(k);
  if (idx >= 0) { applyPreset(PRESET_KEYS[idx]); return; }
  switch (k) {
    case "z": simpleAction("undo", "undoing…"); break;
    case "y": simpleAction("redo", "redoing…"); break;
    case "n": simpleAction("new-lesion", "new lesion…"); break;
    case "r": simpleAction("auto", "automatic segmentation…"); break;
    case "a": acceptLesion(app.state?.active_lesion); break;
    case "Delete": case "Backspace": deleteLesion(app.state?.active_lesion); break;
    case "m": $("#negative").click(); break;
    case "b": setBoxMode(!app.boxMode); break;
    case "u": $("#upload-file").click(); break;
    case "t": setRender(!app.render3D); break;
    case "+": case "=": zoom(1.25); break;
    case "-": zoom(0.8); break;
    case "0": zoom(0); break;
    default: return;
  }
}

// ------------------------------------------------------------------ start
async function main() {
  const nv = new Niivue({
    backColor: [0, 0, 0, 1],
    // thin, translucent crosshair with a gap so it never hides the lesion under it
    crosshairColor: [0.3, 0.8, 1, 0.45],
    crosshairWidth: 1,
    crosshairGap: 12,
    show3Dcrosshair: true,
    isRadiologicalConvention: true, // patient's left on the screen's right, as in the clinic
    multiplanarShowRender: SHOW_RENDER.ALWAYS,
    multiplanarLayout: MULTIPLANAR_TYPE.GRID,
    isOrientCube: false,
    dragAndDropEnabled: false,
    dragMode: DRAG_MODE.contrast,
    fontMinPx: 13,
    loadingText: "", // the page shows its own placeholder and busy indicator
  });
  app.nv = nv;
  await nv.attachToCanvas($("#gl"));
  nv.setMouseEventConfig(mouseConfig(DRAG_MODE.crosshair));
  hookDrawScene(nv);
  nv.onDragRelease = onDragRelease;
  nv.setDrawOpacity(0.4); // translucent: the tissue under the mask stays visible
  nv.setSliceType(SLICE_TYPE.MULTIPLANAR);
  setRender(RENDER_PARAM === null ? !softwareRenderer(nv.gl) : RENDER_PARAM === "1");
  nv.onLocationChange = (loc) => {
    if (!app.invAffine) return;
    const mm = loc.mm;
    const ijk = apply4(app.invAffine, [mm[0], mm[1], mm[2]]).map(Math.round);
    const v = loc.values?.[0]?.value;
    $("#location").textContent = `voxel ${ijk.join(", ")}  ·  LPS ${fmt(-mm[0])}, ${fmt(-mm[1])}, ${fmt(mm[2])} mm${
      v !== undefined ? `  ·  ${fmt(v, 0)}${app.isCt ? " HU" : ""}` : ""}`;
  };
  nv.onIntensityChange = () => showWindow();
  installClickHandler($("#gl"));
  installDropTarget($("#viewport"));

  for (const b of document.querySelectorAll("[data-preset]")) {
    b.addEventListener("click", () => applyPreset(b.dataset.preset));
  }
  for (const b of document.querySelectorAll("[data-export]")) {
    b.addEventListener("click", () => exportAs(b.dataset.export));
  }
  $("#undo").addEventListener("click", () => simpleAction("undo", "undoing…"));
  $("#redo").addEventListener("click", () => simpleAction("redo", "redoing…"));
  $("#new-lesion").addEventListener("click", () => simpleAction("new-lesion", "new lesion…"));
  $("#auto").addEventListener("click", () => simpleAction("auto", "automatic segmentation…"));
  $("#negative").addEventListener("change", (e) => document.body.classList.toggle("negative", e.target.checked));
  $("#zoom-in").addEventListener("click", () => zoom(1.25));
  $("#zoom-out").addEventListener("click", () => zoom(0.8));
  $("#zoom-reset").addEventListener("click", () => zoom(0));
  $("#render-toggle").addEventListener("click", () => setRender(!app.render3D));
  $("#box-tool").addEventListener("click", () => setBoxMode(!app.boxMode));
  $("#upload-btn").addEventListener("click", () => $("#upload-file").click());
  $("#upload-file").addEventListener("change", (e) => {
    uploadFile(e.target.files[0]);
    e.target.value = ""; // the same file again fires change again
  });
  $("#help-btn").addEventListener("click", () => toggleHelp());
  $("#help-close").addEventListener("click", () => toggleHelp(false));
  $("#error-close").addEventListener("click", hideError);
  document.addEventListener("keydown", onKey);
  updateControls();
  await loadStudies();
  document.body.dataset.ready = "1";
}

main().catch((err) => showError(`viewer failed to start: ${err.message || err}`));
