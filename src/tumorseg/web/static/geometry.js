// Voxel geometry between tumorseg's [i, j, k] and NiiVue.
//
// tumorseg's [i, j, k] is the NIfTI file's own voxel order. NiiVue reorients every volume to
// RAS internally (permRAS: RAS axis p comes from native axis |perm[p]|-1, reversed when
// negative); its drawing bitmap is in that RAS order. mm positions in NiiVue are RAS.

/** 4x4 matrix (rows) copy of NiiVue's hdr.affine (native voxel -> RAS mm). */
export function mat4FromRows(a) {
  return a.map((row) => row.slice());
}

/** Inverse of a 4x4 matrix given as rows (Gauss-Jordan with pivoting). */
export function invert4(m) {
  const a = m.map((r, i) => [...r, ...[0, 1, 2, 3].map((j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    const d = a[c][c];
    if (Math.abs(d) < 1e-12) throw new Error("singular image affine");
    for (let j = 0; j < 8; j++) a[c][j] /= d;
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let j = 0; j < 8; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((r) => r.slice(4));
}

/** m (4x4 rows) applied to the point v (3 values). */
export function apply4(m, v) {
  return [0, 1, 2].map((r) => m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2] + m[r][3]);
}

/** Linear index in NiiVue's RAS-ordered bitmap of native [i, j, k]:
 *  offset + i * coef[0] + j * coef[1] + k * coef[2]. `back` is the NVImage. */
export function rasIndexer(back) {
  const dims = back.hdr.dims; // [ndim, ni, nj, nk]
  const perm = back.permRAS;
  const outdim = [0, 1, 2].map((p) => dims[Math.abs(perm[p])]);
  const stride = [1, outdim[0], outdim[0] * outdim[1]];
  const coef = [0, 0, 0];
  let offset = 0;
  for (let p = 0; p < 3; p++) {
    const a = Math.abs(perm[p]) - 1;
    if (perm[p] > 0) coef[a] = stride[p];
    else { coef[a] = -stride[p]; offset += stride[p] * (dims[a + 1] - 1); }
  }
  return { coef, offset };
}

/** The inclusive native box lo..hi as a RAS box: {lo, hi, dims} (RAS order). */
export function rasBox(back, lo, hi) {
  const dims = back.hdr.dims;
  const perm = back.permRAS;
  const rlo = [0, 0, 0], rhi = [0, 0, 0], rdim = [0, 0, 0];
  for (let p = 0; p < 3; p++) {
    const a = Math.abs(perm[p]) - 1;
    rdim[p] = dims[a + 1];
    if (perm[p] > 0) { rlo[p] = lo[a]; rhi[p] = hi[a]; }
    else { rlo[p] = dims[a + 1] - 1 - hi[a]; rhi[p] = dims[a + 1] - 1 - lo[a]; }
  }
  return { lo: rlo, hi: rhi, dims: rdim };
}

/** Native inclusive box {lo, hi} for a rectangle dragged on a 2D view from voxel a to voxel b
 *  (native [i, j, k], on one slice). In-plane it is the rectangle; along `depthAxis` (the
 *  native axis normal to the view) it spans as many mm as the rectangle's larger in-plane
 *  side, centred on the slice. `spacing` mm per native axis; clipped to `dims` (voxels). */
export function boxFromDrag(a, b, depthAxis, spacing, dims) {
  const lo = [0, 1, 2].map((x) => Math.min(a[x], b[x]));
  const hi = [0, 1, 2].map((x) => Math.max(a[x], b[x]));
  const sides = [0, 1, 2].filter((x) => x !== depthAxis)
    .map((x) => (hi[x] - lo[x] + 1) * spacing[x]);
  const n = Math.max(1, Math.round(Math.max(...sides) / spacing[depthAxis]));
  lo[depthAxis] = a[depthAxis] - Math.floor((n - 1) / 2);
  hi[depthAxis] = lo[depthAxis] + n - 1;
  const clip = (v, x) => Math.min(dims[x] - 1, Math.max(0, v));
  return { lo: lo.map(clip), hi: hi.map(clip) };
}
