// The instance mask as NiiVue's drawing layer: a uint8 bitmap in NiiVue's RAS voxel order,
// coloured by a label table (label n = PALETTE[(n - 1) % length]); 255 lesions at most.
import { NVImage, cmapper } from "/vendor/niivue/index.js";
import { rasBox, rasIndexer } from "./geometry.js";

// Lesion colours: distinct, visible on grey.
export const PALETTE = [
  [255, 64, 64], [64, 200, 255], [255, 200, 0], [80, 230, 100], [255, 120, 230],
  [255, 140, 40], [160, 120, 255], [0, 230, 200], [200, 255, 90], [255, 170, 170],
];

/** NiiVue label table for labels 0 (transparent) … n. */
export function makeLut(n) {
  const R = [0], G = [0], B = [0], A = [0], I = [0], labels = [""];
  for (let v = 1; v <= Math.max(n, 1); v++) {
    const [r, g, b] = PALETTE[(v - 1) % PALETTE.length];
    R.push(r); G.push(g); B.push(b); A.push(255); I.push(v); labels.push(`lesion ${v}`);
  }
  return { R, G, B, A, I, labels };
}

/** An empty drawing layer on the image's grid, with the lesion colours. */
export function initOverlay(nv) {
  nv.createEmptyDrawing();
  nv.drawLut = cmapper.makeDrawLut(makeLut(255));
}

/** Replace the whole overlay by the mask NIfTI at `url` (must be on the image grid). */
export async function loadMask(nv, url, headers) {
  const mask = await NVImage.loadFromUrl({ url, name: "mask.nii.gz", headers });
  const back = nv.volumes[0].hdr.dims;
  const d = mask.hdr.dims;
  if (d[1] !== back[1] || d[2] !== back[2] || d[3] !== back[3]) {
    throw new Error(`mask ${d.slice(1, 4).join("×")} is not on the image grid ${back.slice(1, 4).join("×")}`);
  }
  const ras = mask.img2RAS();
  if (!nv.drawBitmap || nv.drawBitmap.length !== ras.length) nv.createEmptyDrawing();
  nv.drawBitmap.set(ras);
  nv.refreshDrawing(false);
}

function base64ToBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Copy a server mask-patch ({lo, hi, dtype, data}: mask[i, j, k] of the inclusive box,
 *  Fortran order, base64) into the overlay and upload that box to the GPU. */
export function applyPatch(nv, patch) {
  const bytes = base64ToBytes(patch.data);
  let data;
  if (patch.dtype === "uint16") data = new Uint16Array(bytes.buffer);
  else if (patch.dtype === "uint8") data = bytes;
  else throw new Error(`mask-patch: unsupported dtype ${patch.dtype}`);
  const [i0, j0, k0] = patch.lo, [i1, j1, k1] = patch.hi;
  const n = (i1 - i0 + 1) * (j1 - j0 + 1) * (k1 - k0 + 1);
  if (data.length !== n) throw new Error("mask-patch: size does not match its box");
  const { coef, offset } = rasIndexer(nv.volumes[0]);
  const bmp = nv.drawBitmap;
  let src = 0;
  for (let k = k0; k <= k1; k++) {
    for (let j = j0; j <= j1; j++) {
      const base = offset + j * coef[1] + k * coef[2];
      for (let i = i0; i <= i1; i++) bmp[base + i * coef[0]] = data[src++];
    }
  }
  uploadBox(nv, patch.lo, patch.hi);
}

/** The overlay's label at native voxel ijk. */
export function overlayAt(nv, ijk) {
  const { coef, offset } = rasIndexer(nv.volumes[0]);
  return nv.drawBitmap[offset + ijk[0] * coef[0] + ijk[1] * coef[1] + ijk[2] * coef[2]];
}

// Upload only a box of the drawing bitmap to its GPU texture (NiiVue's refreshDrawing
// re-uploads the whole volume: 25 MB for a 512×512×96 CT, ~0.8 s with software WebGL).
function uploadBox(nv, lo, hi) {
  if (nv.opts.is2DSliceShader || !nv.drawTexture) {
    nv.refreshDrawing(false);
    return;
  }
  const r = rasBox(nv.volumes[0], lo, hi);
  const [w, h, d] = [0, 1, 2].map((p) => r.hi[p] - r.lo[p] + 1);
  const box = new Uint8Array(w * h * d);
  const bmp = nv.drawBitmap;
  let dst = 0;
  for (let z = r.lo[2]; z <= r.hi[2]; z++) {
    for (let y = r.lo[1]; y <= r.hi[1]; y++) {
      const start = r.lo[0] + y * r.dims[0] + z * r.dims[0] * r.dims[1];
      box.set(bmp.subarray(start, start + w), dst);
      dst += w;
    }
  }
  const gl = nv.gl;
  gl.activeTexture(gl.TEXTURE7); // NiiVue's drawing texture unit
  gl.bindTexture(gl.TEXTURE_3D, nv.drawTexture);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  gl.texSubImage3D(gl.TEXTURE_3D, 0, r.lo[0], r.lo[1], r.lo[2], w, h, d, gl.RED,
    gl.UNSIGNED_BYTE, box);
}
