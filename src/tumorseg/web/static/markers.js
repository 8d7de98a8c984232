// Prompt markers: the active lesion's clicks (positive green, negative red) and box, drawn on
// a 2D canvas laid over NiiVue's, in each 2D view. A click is a solid dot on the slice it was
// given on, a faded ring up to NEAR_SLICES slices away, and hidden farther. Positions are in
// the canvases' device pixels; NiiVue's frac coordinates are in its RAS voxel order.
import { apply4 } from "./geometry.js";

/** Slices away from its own at which a click still shows (as a faded ring). */
export const NEAR_SLICES = 3;
export const POSITIVE_COLOR = "#34e07a";
export const NEGATIVE_COLOR = "#ff4646";
const BOX_COLOR = "#ffd166";
const NORMAL = [2, 1, 0]; // RAS axis along the normal of an axial, coronal, sagittal view

// RAS voxel index of frac along RAS axis `a` (NiiVue: frac = (index + 0.5) / dim).
function sliceOf(nv, frac, a) {
  const n = nv.volumes[0].dimsRAS[a + 1];
  return Math.min(n - 1, Math.max(0, Math.floor(frac[a] * n)));
}

// Canvas position (device px) of frac, moved onto the slice a 2D view shows.
function project(nv, frac, view) {
  const on = frac.slice();
  const a = NORMAL[view];
  on[a] = nv.scene.crosshairPos[a];
  const hit = nv.frac2canvasPosWithTile(on, view);
  return hit ? { x: hit.pos[0], y: hit.pos[1], tile: hit.tileIndex } : null;
}

function views(nv) {
  const seen = new Set();
  for (const s of nv.screenSlices) if (s.axCorSag >= 0 && s.axCorSag <= 2) seen.add(s.axCorSag);
  return [...seen];
}

/** Where each click shows in each 2D view: [{x, y, positive, view, tile, slices, onSlice}]
 *  (`slices`: how many slices the click is from the one shown). `affine`: native voxel ->
 *  RAS mm; `clicks`: [{ijk, positive}] in native [i, j, k]. */
export function clickMarks(nv, affine, clicks) {
  const marks = [];
  if (!nv.volumes.length || !affine) return marks;
  for (const c of clicks) {
    const frac = nv.mm2frac(apply4(affine, c.ijk));
    for (const view of views(nv)) {
      const a = NORMAL[view];
      const slices = Math.abs(sliceOf(nv, frac, a) - sliceOf(nv, nv.scene.crosshairPos, a));
      if (slices > NEAR_SLICES) continue;
      const p = project(nv, frac, view);
      if (p) marks.push({ ...p, positive: c.positive, view, slices, onSlice: slices === 0 });
    }
  }
  return marks;
}

/** The box (native inclusive lo/hi) as a rectangle in each 2D view whose slice crosses it:
 *  [{x0, y0, x1, y1, view}] in device px. Exact for images whose axes follow the patient's. */
export function boxRects(nv, affine, box) {
  const rects = [];
  if (!box || !nv.volumes.length || !affine) return rects;
  const f0 = nv.mm2frac(apply4(affine, box.lo.map((v) => v - 0.5)));
  const f1 = nv.mm2frac(apply4(affine, box.hi.map((v) => v + 0.5)));
  const lo = [0, 1, 2].map((a) => Math.min(f0[a], f1[a]));
  const hi = [0, 1, 2].map((a) => Math.max(f0[a], f1[a]));
  for (const view of views(nv)) {
    const c = nv.scene.crosshairPos[NORMAL[view]];
    if (c < lo[NORMAL[view]] || c > hi[NORMAL[view]]) continue;
    const p = project(nv, lo, view), q = project(nv, hi, view);
    if (p && q) rects.push({ x0: p.x, y0: p.y, x1: q.x, y1: q.y, view });
  }
  return rects;
}

function fitTo(canvas, source) {
  if (canvas.width !== source.width || canvas.height !== source.height) {
    canvas.width = source.width;
    canvas.height = source.height;
  }
}

/** Redraw `canvas` (same size as NiiVue's): click marks, box rectangles and, while the
 *  user drags a box, the rubber band `drag` ([x0, y0, x1, y1] device px, or null). */
export function drawPrompts(canvas, nv, marks, rects, drag) {
  fitTo(canvas, nv.canvas);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const dpr = nv.uiData.dpr || 1;
  ctx.lineWidth = 1.5 * dpr;
  ctx.setLineDash([6 * dpr, 4 * dpr]);
  for (const r of rects) {
    ctx.strokeStyle = BOX_COLOR;
    ctx.strokeRect(Math.min(r.x0, r.x1), Math.min(r.y0, r.y1),
      Math.abs(r.x1 - r.x0), Math.abs(r.y1 - r.y0));
  }
  if (drag) {
    ctx.strokeStyle = "#ffffff";
    ctx.strokeRect(Math.min(drag[0], drag[2]), Math.min(drag[1], drag[3]),
      Math.abs(drag[2] - drag[0]), Math.abs(drag[3] - drag[1]));
  }
  ctx.setLineDash([]);
  const radius = 5 * dpr;
  for (const m of marks) {
    const color = m.positive ? POSITIVE_COLOR : NEGATIVE_COLOR;
    ctx.beginPath();
    ctx.arc(m.x, m.y, radius, 0, 2 * Math.PI);
    if (m.onSlice) {
      ctx.globalAlpha = 1;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.strokeStyle = "#000000";
      ctx.lineWidth = 1.5 * dpr;
      ctx.stroke();
    } else {
      ctx.globalAlpha = 0.75 - 0.5 * (m.slices - 1) / Math.max(1, NEAR_SLICES - 1);
      ctx.strokeStyle = color;
      ctx.lineWidth = 2 * dpr;
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
}
