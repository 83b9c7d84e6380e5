// gradwalk's graph page: the fast layered layout, used in place of dagre (page-layout.js) for a
// graph too big for dagre to lay out in reasonable time (see LAYOUT_BUDGET). Levels along the
// flow, an order within each level from a few barycentre sweeps, positions across the flow by
// least squares under that order; arrows are curves between ports spread along each box's
// side. It takes about a second for 5,000 values, where dagre takes minutes, but it does not
// route arrows around boxes, and an arrow's number is drawn only where the arrows stand apart.
function fastLayout(items, key) {
  const horizontal = rankdir === "LR" || rankdir === "RL";
  const A = L.ea.length;
  const inDeg = new Int32Array(M + 1), outDeg = new Int32Array(M + 1);
  for (let i = 0; i < A; i++) { inDeg[L.eb[i] + 1]++; outDeg[L.ea[i] + 1]++; }
  for (let i = 0; i < M; i++) { inDeg[i + 1] += inDeg[i]; outDeg[i + 1] += outDeg[i]; }
  const ins = new Int32Array(A), outs = new Int32Array(A), inArrow = new Int32Array(A), outArrow = new Int32Array(A);
  { const fi = inDeg.slice(0, M), fo = outDeg.slice(0, M);
    for (let i = 0; i < A; i++) {
      inArrow[fi[L.eb[i]]] = i; ins[fi[L.eb[i]]++] = L.ea[i];
      outArrow[fo[L.ea[i]]] = i; outs[fo[L.ea[i]]++] = L.eb[i];
    } }
  // a tie between neighbours is broken by operand position: x before w in x * w
  const tie = new Float64Array(A);
  for (let i = 0; i < A; i++) tie[i] = L.slot[i] * 1e-3;
  // levels: one after the latest operand (arrows against forward order are ignored);
  // a box with no operands sits one level before its first use
  const level = new Int32Array(M);
  for (const b of items) {
    let lv = 0;
    for (let i = inDeg[b]; i < inDeg[b + 1]; i++) { const a = ins[i]; if (key[a] < key[b]) lv = Math.max(lv, level[a] + 1); }
    level[b] = lv;
  }
  for (const b of items) {
    if (inDeg[b + 1] > inDeg[b]) continue;
    let first = Infinity;
    for (let i = outDeg[b]; i < outDeg[b + 1]; i++) { const c = outs[i]; if (key[c] > key[b]) first = Math.min(first, level[c]); }
    if (first !== Infinity) level[b] = first - 1;
  }
  let depth = 0;
  for (const b of items) depth = Math.max(depth, level[b]);
  const byLevel = Array.from({ length: depth + 1 }, () => []);
  for (const b of items) byLevel[level[b]].push(b);
  // order within each level: a few sweeps of the barycentre rule
  const pos = new Float64Array(M);
  const place = (row) => row.forEach((b, i) => { pos[b] = i; });
  byLevel.forEach(place);
  const sweep = (row, from, arrows, list) => {
    const bary = new Map();
    for (const b of row) {
      let sum = 0, cnt = 0;
      for (let i = from[b]; i < from[b + 1]; i++) { const o = list[i]; if (level[o] !== level[b]) { sum += pos[o] + tie[arrows[i]]; cnt++; } }
      bary.set(b, cnt ? sum / cnt : pos[b]);
    }
    row.sort((p, q) => bary.get(p) - bary.get(q) || pos[p] - pos[q]);
    place(row);
  };
  const rounds = items.length > 20000 ? 1 : 3;
  for (let r = 0; r < rounds; r++) {
    for (let l = 1; l <= depth; l++) sweep(byLevel[l], inDeg, inArrow, ins);
    for (let l = depth - 1; l >= 0; l--) sweep(byLevel[l], outDeg, outArrow, outs);
  }
  // coordinates: levels along the flow, each level's boxes across it, near their neighbours
  const along = horizontal ? L.w : L.h, across = horizontal ? L.h : L.w;
  const GAP_ALONG = horizontal ? 70 : 50, GAP_ACROSS = horizontal ? 12 : 18;
  const start = new Float64Array(depth + 1);
  let at = 0;
  for (let l = 0; l <= depth; l++) {
    let size = 0;
    for (const b of byLevel[l]) size = Math.max(size, along[b]);
    start[l] = at; at += size + GAP_ALONG;
    for (const b of byLevel[l]) pos[b] = 0;
  }
  const extentAlong = at - GAP_ALONG;
  const centre = new Float64Array(M); // across the flow
  for (const row of byLevel) {
    let c = 0;
    for (const b of row) { centre[b] = c + across[b] / 2; c += across[b] + GAP_ACROSS; }
  }
  const settle = (row, from, list) => {
    // each box wants the mean of its neighbours' centres; keep the order and the gaps
    // (least squares under the order: pool adjacent violators)
    const n = row.length;
    if (!n) return;
    const off = new Float64Array(n), target = new Float64Array(n);
    let c = 0;
    for (let i = 0; i < n; i++) {
      const b = row[i];
      off[i] = c + across[b] / 2; c += across[b] + GAP_ACROSS;
      let sum = 0, cnt = 0;
      for (let j = from[b]; j < from[b + 1]; j++) { const o = list[j]; if (level[o] !== level[b]) { sum += centre[o]; cnt++; } }
      target[i] = (cnt ? sum / cnt : centre[b]) - off[i];
    }
    const mean = [], weight = [], span = [];
    for (let i = 0; i < n; i++) {
      mean.push(target[i]); weight.push(1); span.push(1);
      while (mean.length > 1 && mean[mean.length - 2] > mean[mean.length - 1]) {
        const m2 = mean.pop(), w2 = weight.pop(), s2 = span.pop();
        const m1 = mean.pop(), w1 = weight.pop(), s1 = span.pop();
        mean.push((m1 * w1 + m2 * w2) / (w1 + w2)); weight.push(w1 + w2); span.push(s1 + s2);
      }
    }
    let i = 0;
    for (let k = 0; k < mean.length; k++) for (let s = 0; s < span[k]; s++, i++) centre[row[i]] = mean[k] + off[i];
  };
  for (let r = 0; r < 2; r++) {
    for (let l = 1; l <= depth; l++) settle(byLevel[l], inDeg, ins);
    for (let l = depth - 1; l >= 0; l--) settle(byLevel[l], outDeg, outs);
  }
  let lo = Infinity, hi = -Infinity;
  for (const b of items) { lo = Math.min(lo, centre[b] - across[b] / 2); hi = Math.max(hi, centre[b] + across[b] / 2); }
  const flip = rankdir === "RL" || rankdir === "BT";
  for (const b of items) {
    const l = level[b];
    const a = flip ? extentAlong - start[l] - along[b] : start[l];
    const c = centre[b] - across[b] / 2 - lo;
    if (horizontal) { L.x[b] = a; L.y[b] = c; } else { L.x[b] = c; L.y[b] = a; }
  }
  // ports: the arrows into a box spread along its side in operand order, those out of it in
  // the order of their targets, so that each arrow and its number stand apart
  L.sp = new Float64Array(A); L.tp = new Float64Array(A); L.room = new Uint8Array(A);
  const spread = (b, arrows, into) => {
    const n = arrows.length;
    if (!n) return;
    const size = horizontal ? L.h[b] : L.w[b];
    arrows.forEach((i, j) => { (into ? L.tp : L.sp)[i] = n === 1 ? size / 2 : size * (0.2 + 0.6 * j / (n - 1)); });
    // an arrow's number is drawn only where the arrows into the box stand far enough apart
    if (into) for (const i of arrows) L.room[i] = !horizontal || n === 1 || (size * 0.6) / (n - 1) >= 12 ? 1 : 0;
  };
  for (const b of items) {
    const into = [], from = [];
    for (let j = inDeg[b]; j < inDeg[b + 1]; j++) into.push(inArrow[j]);
    for (let j = outDeg[b]; j < outDeg[b + 1]; j++) from.push(outArrow[j]);
    into.sort((p, q) => L.slot[p] - L.slot[q]);
    from.sort((p, q) => centre[L.eb[p]] - centre[L.eb[q]]);
    spread(b, into, true); spread(b, from, false);
  }
  L.width = horizontal ? extentAlong : hi - lo;
  L.height = horizontal ? hi - lo : extentAlong;
  // the arrows as the drawing reads them: cubic curves from port to port
  const fwd = rankdir === "LR" || rankdir === "TB";
  L.bezier = true;
  L.points = [];
  L.labels = [];
  for (let i = 0; i < A; i++) {
    const a = L.ea[i], b = L.eb[i];
    let p;
    if (horizontal) {
      const sx = fwd ? L.x[a] + L.w[a] : L.x[a], sy = L.y[a] + L.sp[i];
      const tx = fwd ? L.x[b] : L.x[b] + L.w[b], ty = L.y[b] + L.tp[i];
      const d = Math.max(30, Math.abs(tx - sx) / 2) * (tx >= sx ? 1 : -1);
      p = [[sx, sy], [sx + d, sy], [tx - d, ty], [tx, ty]];
    } else {
      const sx = L.x[a] + L.sp[i], sy = fwd ? L.y[a] + L.h[a] : L.y[a];
      const tx = L.x[b] + L.tp[i], ty = fwd ? L.y[b] : L.y[b] + L.h[b];
      const d = Math.max(25, Math.abs(ty - sy) / 2) * (ty >= sy ? 1 : -1);
      p = [[sx, sy], [sx, sy + d], [tx, ty - d], [tx, ty]];
    }
    L.points.push(p);
    // a little past the middle of the curve: nearer the result whose derivative it is
    const t = 0.55, u = 1 - t;
    const at = (c) => u * u * u * p[0][c] + 3 * u * u * t * p[1][c] + 3 * u * t * t * p[2][c] + t * t * t * p[3][c];
    L.labels.push(L.room[i] && L.labelText[i] ? [at(0), at(1)] : null);
  }
  L.clusters = [];
}
