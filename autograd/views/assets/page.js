// gradwalk's graph page. Every number shown comes from the JSON the engine wrote into the page:
// this script lays the graph out, draws it, and replays the backward pass the engine recorded.
"use strict";
(function () {
  const RAW = JSON.parse(document.getElementById("gradwalk-data").textContent);
  const F = (v) => (typeof v === "string" ? Number(v) : v); // "NaN", "Infinity" -> numbers

  // --- the graph, as typed columns ----------------------------------------------------------
  const nodes = RAW.nodes;
  const N = nodes.name.length;
  const ROOT = RAW.root;
  const name = nodes.name, label = nodes.label, op = nodes.op, role = nodes.role;
  const formulaOf = nodes.formula;
  const data = Float64Array.from(nodes.data, F);
  const gradField = Float64Array.from(nodes.grad, F);
  const hasPass = Uint8Array.from(nodes.pass, (v) => (v === null ? 0 : 1));
  const passGrad = Float64Array.from(nodes.pass, (v) => (v === null ? 0 : F(v)));
  const group = Int32Array.from(nodes.group);
  const E = RAW.edges.src.length;
  const src = Int32Array.from(RAW.edges.src), dst = new Int32Array(E);
  { let e = 0; nodes.arity.forEach((k, n) => { for (let i = 0; i < k; i++) dst[e++] = n; }); }
  const local = Float64Array.from(RAW.edges.local, F);
  const rule = RAW.edges.rule.map((r) => (typeof r === "number" ? name[r] : r));
  const groups = RAW.groups; // [name, parent, kind]
  const NG = groups.length;
  const M = N + NG; // boxes: a node i, or a collapsed group N + g
  const steps = RAW.steps;
  const S = steps.length;
  const questions = RAW.questions;
  const seed = F(RAW.seed);
  const rankdir = RAW.rankdir || "LR";

  // edges into each node (operands, in order) and out of it (its uses)
  const inStart = new Int32Array(N + 1).fill(-1);
  for (let e = E - 1; e >= 0; e--) inStart[dst[e]] = e;
  const inEnd = new Int32Array(N);
  for (let e = 0; e < E; e++) inEnd[dst[e]] = e + 1;
  const outCount = new Int32Array(N + 1);
  for (let e = 0; e < E; e++) outCount[src[e] + 1]++;
  for (let i = 0; i < N; i++) outCount[i + 1] += outCount[i];
  const outEdges = new Int32Array(E);
  { const fill = outCount.slice(0, N); for (let e = 0; e < E; e++) outEdges[fill[src[e]]++] = e; }
  const operands = (n) => { const a = []; if (inStart[n] >= 0) for (let e = inStart[n]; e < inEnd[n]; e++) a.push(e); return a; };
  const uses = (n) => Array.from(outEdges.subarray(outCount[n], outCount[n + 1]));
  // what each step adds, by receiving node, in backward's order
  const stepOf = new Int32Array(N).fill(-1);
  steps.forEach((s, k) => { stepOf[s[0]] = k; });
  // a vector-Jacobian product (fixed_point, custom_vjp): no number per arrow, one product of
  // its outputs' gradients sends into all its operands at once
  const isVjp = (n) => stepOf[n] >= 0 && steps[stepOf[n]][3] === 1;
  const additionsInto = new Map(); // node -> [[step, edge, added, total]]
  steps.forEach((s, k) => s[2].forEach(([e, added, total]) => {
    const p = src[e];
    if (!additionsInto.has(p)) additionsInto.set(p, []);
    additionsInto.get(p).push([k, e, F(added), F(total)]);
  }));
  const isConst = (n) => role[n] === "c";
  const rootName = name[ROOT];

  // --- numbers as text: the same rules as the Python views (4 decimals, else scientific) -----
  function num(x) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    const a = Math.abs(x);
    if (x === 0 || (a >= 1e-3 && a < 1e6)) return (Object.is(x, -0) ? "-" : "") + x.toFixed(4);
    return x.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2");
  }
  const full = (x) => String(x); // shortest text that reads back as the same double

  // --- state --------------------------------------------------------------------------------
  const state = {
    mode: "view", // "view": the .grad fields; "step": the pass replayed; "practice"
    step: 0, // steps applied so far, 0..S
    selected: -1, // a box id
    collapsed: new Set(),
    view: { x: 0, y: 0, k: 1 },
    flash: -1,
  };
  const run = new Float64Array(N); // the gradients after `state.step` steps
  const reached = new Uint8Array(N);
  const practice = { pos: 0, revealed: new Uint8Array(N), right: 0, wrong: 0, feedback: null };

  function replayTo(k) {
    run.fill(0); reached.fill(0);
    run[ROOT] = seed; reached[ROOT] = 1;
    for (let i = 0; i < k; i++) for (const [e, , total] of steps[i][2]) { run[src[e]] = F(total); reached[src[e]] = 1; }
    state.step = k;
  }

  // the gradient a box shows now, or null for "not known yet"
  function shownGrad(n) {
    if (state.mode === "step") return reached[n] ? run[n] : null;
    if (state.mode === "practice") return practice.revealed[n] ? passGrad[n] : null;
    return gradField[n];
  }

  // --- layout -------------------------------------------------------------------------------
  const canvas = document.getElementById("graph");
  const ctx = canvas.getContext("2d");
  const FONT = "12px ui-monospace, Menlo, Consolas, monospace";
  const SMALL = "10px ui-monospace, Menlo, Consolas, monospace";
  ctx.font = FONT;
  const CW = ctx.measureText("0000000000").width / 10 || 7.2;
  const LINE = 15, PAD = 7, NAME_MAX = 30;
  const short = (s) => (s.length > NAME_MAX ? s.slice(0, NAME_MAX - 1) + "…" : s);
  const horizontal = rankdir === "LR" || rankdir === "RL";

  const L = {
    rep: new Int32Array(N), items: [], x: new Float64Array(M), y: new Float64Array(M),
    w: new Float64Array(M), h: new Float64Array(M), members: new Int32Array(M),
    ea: [], eb: [], ecount: [], eid: [], slot: [], sp: [], tp: [], width: 0, height: 0,
  };

  function boxSize(b) {
    if (b >= N) {
      const g = b - N;
      const chars = Math.max(short(groups[g][0]).length + 2, 18);
      L.w[b] = chars * CW + 2 * PAD; L.h[b] = 2 * LINE + 2 * PAD;
      return;
    }
    const head = short(name[b]).length + (op[b] ? op[b].length + 2 : 0);
    const body = Math.max(num(data[b]).length, 6) + 5;
    L.w[b] = Math.max(head, body, 10) * CW + 2 * PAD;
    L.h[b] = (isConst(b) ? 2 : 3) * LINE + 2 * PAD - 2;
  }

  function layout() {
    // which box shows each node: the outermost collapsed group around it, or itself
    const outer = new Int32Array(NG).fill(-1);
    for (let g = 0; g < NG; g++) {
      const p = groups[g][1];
      outer[g] = p >= 0 && outer[p] >= 0 ? outer[p] : state.collapsed.has(g) ? g : -1;
    }
    const rep = L.rep;
    L.members.fill(0);
    const key = new Int32Array(M).fill(-1); // a box's last node in forward order
    for (let n = 0; n < N; n++) {
      const g = group[n];
      rep[n] = g >= 0 && outer[g] >= 0 ? N + outer[g] : n;
      key[rep[n]] = n;
      L.members[rep[n]]++;
    }
    const items = [];
    for (let n = 0; n < N; n++) if (key[rep[n]] === n) items.push(rep[n]); // in key order
    L.items = items;
    for (const b of items) boxSize(b);
    // arrows between boxes, merged
    const seen = new Map();
    L.ea = []; L.eb = []; L.ecount = []; L.eid = []; L.slot = [];
    for (let e = 0; e < E; e++) {
      const a = rep[src[e]], b = rep[dst[e]];
      if (a === b) continue;
      const id = a * M + b;
      const k = seen.get(id);
      if (k === undefined) { seen.set(id, L.ea.length); L.ea.push(a); L.eb.push(b); L.ecount.push(1); L.eid.push(e); L.slot.push(e - inStart[dst[e]]); }
      else { L.ecount[k]++; L.eid[k] = -1; }
    }
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
  }

  // --- drawing ------------------------------------------------------------------------------
  let scale = 0;
  for (let n = 0; n < N; n++) if (!isConst(n) && Number.isFinite(passGrad[n])) scale = Math.max(scale, Math.abs(passGrad[n]));
  for (let n = 0; n < N; n++) if (!isConst(n) && Number.isFinite(gradField[n])) scale = Math.max(scale, Math.abs(gradField[n]));
  const POS = [0x3a, 0x7d, 0xc0], NEG = [0xd0, 0x4a, 0x3c];
  function shade(g) {
    if (g === null || g === 0 || scale <= 0) return "#ffffff";
    if (!Number.isFinite(g)) return "#bbbbbb";
    const t = 0.15 + 0.7 * Math.sqrt(Math.min(Math.abs(g) / scale, 1));
    const base = g > 0 ? POS : NEG;
    return "rgb(" + base.map((c) => Math.round(255 + (c - 255) * t)).join(",") + ")";
  }
  const BORDER = { o: ["#000", 3], p: ["#762a83", 2], i: ["#1b7837", 2], c: ["#999", 1], v: ["#555", 1] };

  let frame = 0;
  function redraw() { if (!frame) frame = requestAnimationFrame(draw); }

  function sizeCanvas() {
    const dpr = window.devicePixelRatio || 1;
    const r = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
  }

  function highlights() {
    // boxes and arrows to mark: the current step's, or the selection's
    const hot = new Map(), hotEdges = new Set();
    if (state.mode === "step" && state.step > 0) {
      const s = steps[state.step - 1];
      hot.set(L.rep[s[0]], "#e08000");
      for (const [e] of s[2]) { hot.set(L.rep[src[e]], "#1b7837"); hotEdges.add(e); }
    } else if (state.mode === "practice" && practice.pos < questions.length) {
      hot.set(L.rep[questions[practice.pos]], "#e08000");
    }
    if (state.selected >= 0) {
      hot.set(state.selected, "#0b57d0");
      if (state.selected < N) { operands(state.selected).forEach((e) => hotEdges.add(e)); uses(state.selected).forEach((e) => hotEdges.add(e)); }
    }
    return { hot, hotEdges };
  }

  function draw() {
    frame = 0;
    const dpr = window.devicePixelRatio || 1;
    const { x: vx, y: vy, k } = state.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(dpr * k, 0, 0, dpr * k, -vx * dpr * k, -vy * dpr * k);
    const x0 = vx, y0 = vy, x1 = vx + canvas.width / dpr / k, y1 = vy + canvas.height / dpr / k;
    const { hot, hotEdges } = highlights();
    // arrows
    const path = (i) => {
      const a = L.ea[i], b = L.eb[i];
      let sx, sy, tx, ty;
      if (horizontal) {
        const fwd = rankdir === "LR";
        sx = fwd ? L.x[a] + L.w[a] : L.x[a]; sy = L.y[a] + L.sp[i];
        tx = fwd ? L.x[b] : L.x[b] + L.w[b]; ty = L.y[b] + L.tp[i];
        const d = Math.max(30, Math.abs(tx - sx) / 2) * (tx >= sx ? 1 : -1);
        return [sx, sy, sx + d, sy, tx - d, ty, tx, ty];
      }
      const fwd = rankdir === "TB";
      sx = L.x[a] + L.sp[i]; sy = fwd ? L.y[a] + L.h[a] : L.y[a];
      tx = L.x[b] + L.tp[i]; ty = fwd ? L.y[b] : L.y[b] + L.h[b];
      const d = Math.max(25, Math.abs(ty - sy) / 2) * (ty >= sy ? 1 : -1);
      return [sx, sy, sx, sy + d, tx, ty - d, tx, ty];
    };
    const visible = (p) => !(Math.max(p[0], p[6]) < x0 || Math.min(p[0], p[6]) > x1 ||
      Math.max(p[1], p[7], p[3], p[5]) < y0 || Math.min(p[1], p[7], p[3], p[5]) > y1);
    const A = L.ea.length;
    const marked = [];
    ctx.lineWidth = Math.max(1, 0.8 / k);
    ctx.strokeStyle = "#a9a9b0";
    ctx.beginPath();
    for (let i = 0; i < A; i++) {
      const p = path(i);
      if (!visible(p)) continue;
      const e = L.eid[i];
      if (e >= 0 && hotEdges.has(e)) { marked.push([i, p]); continue; }
      if (L.ecount[i] > 1 && e < 0) { marked.push([i, p, true]); continue; }
      ctx.moveTo(p[0], p[1]); ctx.bezierCurveTo(p[2], p[3], p[4], p[5], p[6], p[7]);
    }
    ctx.stroke();
    for (const [i, p, merged] of marked) {
      ctx.beginPath();
      ctx.strokeStyle = merged ? "#8a8a92" : "#e08000";
      ctx.lineWidth = merged ? Math.min(6, 1 + Math.log2(L.ecount[i])) : 2.5;
      ctx.moveTo(p[0], p[1]); ctx.bezierCurveTo(p[2], p[3], p[4], p[5], p[6], p[7]);
      ctx.stroke();
    }
    // arrowheads and local derivatives, when they are big enough to read
    if (k >= 0.45) {
      ctx.fillStyle = "#555";
      ctx.font = SMALL;
      ctx.textBaseline = "middle";
      for (let i = 0; i < A; i++) {
        const p = path(i);
        if (!visible(p)) continue;
        ctx.beginPath();
        const ang = Math.atan2(p[7] - p[5], p[6] - p[4]);
        ctx.moveTo(p[6], p[7]);
        ctx.lineTo(p[6] - 8 * Math.cos(ang - 0.4), p[7] - 8 * Math.sin(ang - 0.4));
        ctx.lineTo(p[6] - 8 * Math.cos(ang + 0.4), p[7] - 8 * Math.sin(ang + 0.4));
        ctx.fill();
        const e = L.eid[i];
        if (!L.room[i]) continue;
        const text = e < 0 ? "×" + L.ecount[i] : isVjp(dst[e]) ? "vjp" : Number.isNaN(local[e]) ? "∂ undefined" : "∂ " + num(local[e]);
        // a little past the middle: nearer the result whose derivative it is
        const t = 0.55, u = 1 - t;
        const mx = u * u * u * p[0] + 3 * u * u * t * p[2] + 3 * u * t * t * p[4] + t * t * t * p[6];
        const my = u * u * u * p[1] + 3 * u * u * t * p[3] + 3 * u * t * t * p[5] + t * t * t * p[7];
        const tw = ctx.measureText(text).width;
        ctx.fillStyle = "rgba(255,255,255,0.85)";
        ctx.fillRect(mx - tw / 2 - 2, my - 7, tw + 4, 13);
        ctx.fillStyle = e >= 0 && hotEdges.has(e) ? "#b05000" : "#555";
        ctx.textAlign = "center";
        ctx.fillText(text, mx, my);
        ctx.fillStyle = "#555";
      }
    }
    // boxes
    const text = k >= 0.4;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    for (const b of L.items) {
      const x = L.x[b], y = L.y[b], w = L.w[b], h = L.h[b];
      if (x > x1 || y > y1 || x + w < x0 || y + h < y0) continue;
      ctx.beginPath();
      ctx.roundRect ? ctx.roundRect(x, y, w, h, b >= N || role[b] === "p" ? 8 : 3) : ctx.rect(x, y, w, h);
      if (b >= N) {
        ctx.fillStyle = "#f3efe4";
        ctx.fill();
        ctx.setLineDash([]);
        ctx.lineWidth = 2; ctx.strokeStyle = "#8b7d5a"; ctx.stroke();
      } else {
        const g = shownGrad(b);
        ctx.fillStyle = isConst(b) ? "#f4f4f4" : shade(g);
        ctx.fill();
        const [color, width] = BORDER[role[b]];
        ctx.setLineDash(isConst(b) ? [4, 3] : []);
        ctx.lineWidth = width; ctx.strokeStyle = color; ctx.stroke();
        ctx.setLineDash([]);
      }
      const mark = hot.get(b) || (b === state.flash ? "#0b57d0" : null);
      if (mark) {
        ctx.beginPath();
        ctx.lineWidth = 4; ctx.strokeStyle = mark;
        ctx.strokeRect(x - 4, y - 4, w + 8, h + 8);
      }
      if (!text) continue;
      ctx.font = FONT;
      ctx.fillStyle = "#111";
      if (b >= N) {
        const g = b - N;
        ctx.fillText(short(groups[g][0]), x + PAD, y + PAD);
        ctx.fillStyle = "#555";
        ctx.fillText(groups[g][2] + " · " + L.members[b] + " values", x + PAD, y + PAD + LINE);
        continue;
      }
      ctx.font = "bold " + FONT;
      ctx.fillText(short(name[b]), x + PAD, y + PAD);
      if (op[b]) {
        ctx.font = FONT;
        const ow = ctx.measureText(op[b]).width;
        ctx.fillStyle = "#ececf0";
        ctx.fillRect(x + w - PAD - ow - 4, y + PAD - 2, ow + 8, LINE);
        ctx.fillStyle = "#333";
        ctx.fillText(op[b], x + w - PAD - ow, y + PAD);
      }
      ctx.font = FONT;
      ctx.fillStyle = "#111";
      ctx.fillText("data " + num(data[b]), x + PAD, y + PAD + LINE);
      if (!isConst(b)) {
        const g = shownGrad(b);
        ctx.fillText("grad " + (g === null ? "?" : num(g)), x + PAD, y + PAD + 2 * LINE);
      }
    }
  }

  // --- view: pan, zoom, fit -------------------------------------------------------------------
  const screen = () => { const r = canvas.getBoundingClientRect(); return { w: r.width, h: r.height, left: r.left, top: r.top }; };
  function fit() {
    const { w, h } = screen();
    const k = Math.min(1.6, (w - 40) / Math.max(L.width, 1), (h - 40) / Math.max(L.height, 1));
    state.view.k = Math.max(k, 0.02);
    state.view.x = L.width / 2 - w / 2 / state.view.k;
    state.view.y = L.height / 2 - h / 2 / state.view.k;
    redraw();
  }
  function centreOn(b, zoom) {
    const { w, h } = screen();
    if (zoom) state.view.k = Math.max(state.view.k, zoom);
    state.view.x = L.x[b] + L.w[b] / 2 - w / 2 / state.view.k;
    state.view.y = L.y[b] + L.h[b] / 2 - h / 2 / state.view.k;
    redraw();
  }
  function onScreen(b) {
    const { w, h } = screen();
    const { x, y, k } = state.view;
    return L.x[b] >= x && L.y[b] >= y && L.x[b] + L.w[b] <= x + w / k && L.y[b] + L.h[b] <= y + h / k;
  }
  function zoomAt(factor, sx, sy) {
    const v = state.view;
    const k = Math.min(4, Math.max(0.02, v.k * factor));
    v.x += sx / v.k - sx / k; v.y += sy / v.k - sy / k; v.k = k;
    redraw();
  }
  function boxAt(sx, sy) {
    const { x, y, k } = state.view;
    const wx = x + sx / k, wy = y + sy / k;
    for (let i = L.items.length - 1; i >= 0; i--) {
      const b = L.items[i];
      if (wx >= L.x[b] && wx <= L.x[b] + L.w[b] && wy >= L.y[b] && wy <= L.y[b] + L.h[b]) return b;
    }
    return -1;
  }

  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    drag = { x: ev.clientX, y: ev.clientY, vx: state.view.x, vy: state.view.y, moved: false };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) { canvas.style.cursor = boxAt(ev.offsetX, ev.offsetY) >= 0 ? "pointer" : ""; return; }
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
    if (drag.moved) { state.view.x = drag.vx - dx / state.view.k; state.view.y = drag.vy - dy / state.view.k; redraw(); }
  });
  canvas.addEventListener("pointerup", (ev) => {
    canvas.classList.remove("dragging");
    const d = drag; drag = null;
    if (d && !d.moved) select(boxAt(ev.offsetX, ev.offsetY));
  });
  canvas.addEventListener("dblclick", (ev) => {
    const b = boxAt(ev.offsetX, ev.offsetY);
    if (b >= N) expand(b - N);
  });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    zoomAt(Math.exp(-ev.deltaY * (ev.deltaMode ? 0.05 : 0.0015)), ev.offsetX, ev.offsetY);
  }, { passive: false });

  // --- the panel ------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "on") e.addEventListener("click", v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  // a number cell: 4 decimals shown, every digit in `data-value` and the tooltip
  const numEl = (x, extra) => el("span", { class: "n", "data-value": full(x), title: full(x), ...(extra || {}) }, num(x));
  const link = (n) => el("a", { class: "node mono", "data-node": name[n], on: () => { reveal(n); select(n, true); } }, name[n]);
  const ROLE_NAMES = { o: "output", p: "parameter", i: "input", c: "constant", v: "intermediate" };
  const dRoot = (n) => "d" + rootName + "/d" + name[n];
  const gradHidden = (n) => state.mode === "practice" && !practice.revealed[n];

  function details() {
    const box = $("details");
    box.replaceChildren();
    const b = state.selected;
    if (b < 0) { box.append(el("p", { class: "muted" }, "Click a value in the graph to see its numbers.")); return; }
    if (b >= N) { groupDetails(box, b - N); return; }
    const n = b;
    box.dataset.node = name[n];
    box.append(el("h2", {}, el("span", { class: "mono" }, name[n]), el("span", { class: "role" }, ROLE_NAMES[role[n]])));
    if (label[n]) box.append(el("p", { class: "muted" }, "label: ", el("span", { class: "mono" }, label[n])));
    if (formulaOf[n]) box.append(el("p", { class: "mono" }, name[n] + " = " + formulaOf[n]));
    const rows = el("table", { id: "numbers" });
    rows.append(el("tr", {}, el("td", {}, "data"), el("td", { class: "n" }, numEl(data[n], { id: "d-data" }))));
    if (!isConst(n)) {
      const g = gradHidden(n) ? el("span", { class: "n", id: "d-grad" }, "?") : numEl(gradField[n], { id: "d-grad" });
      rows.append(el("tr", {}, el("td", {}, ".grad"), el("td", { class: "n" }, g)));
    }
    box.append(rows);
    const ins = operands(n);
    if (ins.length && isVjp(n)) {
      box.append(el("p", { class: "muted" }, name[n] + " has several outputs: it sends one vector-Jacobian product of their gradients into its operands, with no number per arrow."));
    } else if (ins.length) {
      box.append(el("h3", {}, "Local derivatives of " + name[n] + " (on its arrows)"));
      const t = el("table", { id: "locals" });
      for (const e of ins) {
        const p = src[e];
        t.append(el("tr", { "data-edge": String(e) },
          el("td", { class: "mono" }, "d" + name[n] + "/d" + name[p] + (rule[e] && rule[e] !== num(local[e]) ? " = " + rule[e] : "")),
          el("td", { class: "n" }, Number.isNaN(local[e]) ? el("span", { class: "n local", "data-value": "NaN" }, "undefined here") : numEl(local[e], { class: "n local" }))));
      }
      box.append(t);
    }
    if (isConst(n)) { box.append(el("p", { class: "muted" }, "A constant: a number in the formula, so nothing learns its gradient.")); return; }
    box.append(el("h3", {}, "How its gradient was made (chain rule)"));
    if (gradHidden(n)) { box.append(el("p", { class: "muted" }, "Hidden in practice mode until you answer it.")); }
    else chainSum(box, n);
    const chain = [];
    for (let g = group[n]; g >= 0; g = groups[g][1]) chain.push(g);
    if (chain.length) {
      box.append(el("h3", {}, "Groups"));
      const row = el("div", { class: "row" });
      for (const g of chain) row.append(el("button", { class: "collapse", "data-group": groups[g][0], on: () => collapse(g) }, "Collapse " + groups[g][2] + " " + groups[g][0]));
      box.append(row);
    }
  }

  function chainSum(box, n) {
    const list = el("div", { id: "chain" });
    if (n === ROOT) list.append(el("p", {}, "the seed: " + dRoot(n) + " = ", numEl(seed, { class: "n total" })));
    const adds = additionsInto.get(n) || [];
    if (adds.length) list.append(el("p", { class: "muted" }, dRoot(n) + " is the sum, over each use of " + name[n] +
      ", of the user's gradient times the local derivative on that arrow:"));
    adds.forEach(([k, e, added, total], j) => {
      const user = dst[e];
      list.append(el("div", { class: "term", "data-step": String(k + 1) },
        el("div", {}, (j ? "+ " : "  ") + "from ", link(user), " (" + (op[user] || "op") + ", step " + (k + 1) + "): ",
          el("span", { class: "mono" }, isVjp(user) ? "one product of its outputs' gradients" : dRoot(user) + " × d" + name[user] + "/d" + name[n])),
        isVjp(user) ? el("div", { class: "n" }, "vector-Jacobian product: ", numEl(added, { class: "n added" }))
          : el("div", { class: "n" }, numEl(F(steps[k][1])), " × ", numEl(local[e]), " = ", numEl(added, { class: "n added" }))));
      if (j === adds.length - 1) list.append(el("div", { class: "sum" }, el("span", { class: "mono" }, dRoot(n) + " = "), numEl(total, { class: "n total" })));
    });
    if (!adds.length && n !== ROOT) list.append(el("p", {}, "not used on the way to " + rootName + ": 0"));
    box.append(list);
    if (hasPass[n] && !Object.is(passGrad[n], gradField[n]) && !(Number.isNaN(passGrad[n]) && Number.isNaN(gradField[n]))) {
      box.append(el("p", { class: "note" }, "This pass gives " + num(passGrad[n]) + "; the .grad field holds " + num(gradField[n]) +
        " (backward has not run from " + rootName + ", or has run more than once: each pass adds)."));
    }
  }

  function groupDetails(box, g) {
    const b = N + g;
    box.dataset.node = groups[g][0];
    box.append(el("h2", {}, el("span", { class: "mono" }, groups[g][0]), el("span", { class: "role" }, groups[g][2])));
    box.append(el("p", {}, L.members[b] + " values collapsed into this box."));
    box.append(el("div", { class: "row" }, el("button", { id: "expand", on: () => expand(g) }, "Expand " + groups[g][2])));
    let params = 0; const outs = [];
    for (let n = 0; n < N; n++) if (L.rep[n] === b) {
      if (role[n] === "p" || (!formulaOf[n] && role[n] === "i")) params++;
      if (uses(n).some((e) => L.rep[dst[e]] !== b) || n === ROOT) outs.push(n);
    }
    box.append(el("p", { class: "muted" }, params + " leaves (parameters) inside; values leaving the box:"));
    const t = el("table", {});
    for (const n of outs.slice(0, 20)) t.append(el("tr", {}, el("td", {}, link(n)), el("td", { class: "n" }, "data ", numEl(data[n])), el("td", { class: "n" }, "grad ", gradHidden(n) ? "?" : numEl(shownGrad(n) ?? gradField[n]))));
    box.append(t);
    if (outs.length > 20) box.append(el("p", { class: "muted" }, "… and " + (outs.length - 20) + " more"));
  }

  function select(b, centre) {
    state.selected = b;
    details();
    if (centre && b >= 0 && !onScreen(b)) centreOn(b, 0.8);
    redraw();
  }

  // make a node visible: expand the collapsed groups around it
  function reveal(n) {
    let changed = false;
    for (let g = group[n]; g >= 0; g = groups[g][1]) if (state.collapsed.delete(g)) changed = true;
    if (changed) relayout();
  }

  // --- collapse and expand ----------------------------------------------------------------------
  function relayout() {
    const before = state.selected;
    layout();
    if (before >= N && !L.items.includes(before)) state.selected = -1;
    if (before >= 0 && before < N && L.rep[before] !== before) state.selected = L.rep[before];
    stats();
    details();
    redraw();
  }
  function collapse(g) {
    state.collapsed.add(g);
    relayout();
    select(N + g, true);
  }
  function expand(g) {
    state.collapsed.delete(g);
    for (let h = groups[g][1]; h >= 0; h = groups[h][1]) state.collapsed.delete(h);
    relayout();
    select(-1);
  }
  function groupTools() {
    if (!NG) return;
    const box = $("group-tools");
    box.hidden = false;
    const kinds = [...new Set(groups.map((g) => g[2]))];
    for (const kind of kinds) {
      box.append(el("button", { "data-kind": kind, on: () => {
        state.collapsed = new Set(groups.map((g, i) => (g[2] === kind ? i : -1)).filter((i) => i >= 0));
        relayout(); fit();
      } }, "Collapse every " + kind));
    }
    box.append(el("button", { id: "expand-all", on: () => { state.collapsed.clear(); relayout(); fit(); } }, "Expand all"));
  }

  function stats() {
    const ops = steps.length;
    const p = $("stats");
    p.dataset.values = String(N);
    p.dataset.boxes = String(L.items.length);
    p.textContent = N.toLocaleString("en") + " values, " + ops.toLocaleString("en") + " operations" +
      (L.items.length !== N ? "; showing " + L.items.length.toLocaleString("en") + " boxes" : "");
  }

  // --- stepping the backward pass ---------------------------------------------------------------
  function setMode(mode) {
    state.mode = mode;
    $("step").hidden = mode !== "step";
    $("practice").hidden = mode !== "practice";
    $("practice-toggle").setAttribute("aria-pressed", mode === "practice" ? "true" : "false");
    document.body.dataset.mode = mode;
    $("mode-view").disabled = mode === "view";
  }
  function goStep(k) {
    if (state.mode !== "step") setMode("step");
    replayTo(Math.max(0, Math.min(S, k)));
    stepPanel();
    if (state.step > 0) {
      const b = L.rep[steps[state.step - 1][0]];
      if (!onScreen(b)) centreOn(b, 0.6);
    }
    if (state.selected >= 0) details();
    redraw();
  }
  function stepPanel() {
    const box = $("step");
    box.replaceChildren();
    $("step-count").textContent = "step " + state.step + " / " + S;
    box.dataset.step = String(state.step);
    if (state.step === 0) {
      box.dataset.node = "";
      box.append(el("h2", {}, "Before the first step"),
        el("p", {}, "The pass starts at " + rootName + " with " + dRoot(ROOT) + " = " + num(seed) + ". Press → to send it back one node at a time: each node's gradient is complete before its turn."));
      return;
    }
    const [n, upRaw, adds, vjpFlag] = steps[state.step - 1];
    const vjp = vjpFlag === 1;
    const up = F(upRaw);
    box.dataset.node = name[n];
    box.append(el("h2", {}, "Step " + state.step + " of " + S + ": ", el("span", { class: "mono", id: "step-node" }, name[n])),
      el("p", { class: "mono" }, name[n] + " = " + formulaOf[n] + " = " + num(data[n])),
      el("p", {}, "its gradient, complete now: " + dRoot(n) + " = ", numEl(up)));
    const t = el("table", {});
    for (const [e, added, total] of adds) {
      const p = src[e];
      const how = vjp ? ["adds "] : [numEl(up), " × ", numEl(local[e]), " = "];
      t.append(el("tr", {}, el("td", {}, "into ", link(p), ": ", ...how, numEl(F(added))),
        el("td", { class: "n" }, "→ ", numEl(F(total)))));
    }
    if (!adds.length) t.append(el("tr", {}, el("td", { class: "muted" }, "its operands are all constants: nothing to add")));
    box.append(el("h3", {}, vjp ? "adds into each operand: one vector-Jacobian product of its outputs' gradients"
      : "adds into each operand: upstream × local derivative"), t);
    if (state.step === S) box.append(el("p", { class: "muted" }, "That was the last step: every gradient is complete."));
  }

  // --- practice ---------------------------------------------------------------------------------
  function startPractice() {
    setMode("practice");
    practice.pos = 0; practice.right = 0; practice.wrong = 0; practice.feedback = null;
    practice.revealed.fill(0);
    practice.revealed[ROOT] = 1;
    practicePanel();
    const n = questions[0];
    if (n !== undefined) { reveal(n); select(n, true); }
    redraw();
  }
  function close(answer, truth) {
    if (Number.isNaN(truth)) return Number.isNaN(answer);
    if (!Number.isFinite(truth)) return answer === truth;
    return Math.abs(answer - truth) <= 5e-4 + 1e-3 * Math.abs(truth);
  }
  function parseAnswer(text) {
    const t = text.trim().replace(/−/g, "-");
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
    if (/^[+-]?(\d+)\s*\/\s*(\d+)$/.test(t)) { const [a, b] = t.split("/"); return Number(a) / Number(b); }
    if (/^nan$/i.test(t)) return NaN;
    if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    return null;
  }
  function check() {
    const n = questions[practice.pos];
    const input = $("answer");
    const answer = parseAnswer(input.value);
    if (answer === null) { practice.feedback = ["wrong", "Type a number, e.g. -0.42 or 3/4."]; practicePanel(); return; }
    if (close(answer, passGrad[n])) {
      practice.right++;
      practice.feedback = ["right", "Right: " + dRoot(n) + " = " + num(passGrad[n]) + "."];
      advance(n);
    } else {
      practice.wrong++;
      practice.feedback = ["wrong", "Not quite: " + input.value.trim() + " is not " + dRoot(n) + ". Sum, over each use of " + name[n] + ", the user's gradient times the local derivative."];
      practicePanel();
      $("answer").select();
    }
  }
  function advance(n) {
    practice.revealed[n] = 1;
    practice.pos++;
    practicePanel();
    const next = questions[practice.pos];
    if (next !== undefined) { reveal(next); select(next, true); } else details();
    redraw();
  }
  function practicePanel() {
    const box = $("practice");
    box.replaceChildren();
    box.append(el("h2", {}, "Practice: fill in every gradient"));
    const done = practice.pos >= questions.length;
    box.dataset.question = done ? "" : name[questions[practice.pos]];
    box.append(el("p", { class: "muted" }, "In backward's order: each value after all the values that use it. Answers within 0.1% count. " +
      "Right " + practice.right + ", wrong " + practice.wrong + ", " + (questions.length - practice.pos) + " to go."));
    if (practice.feedback) box.append(el("p", { class: practice.feedback[0], id: "feedback" }, practice.feedback[1]));
    if (done) { box.append(el("p", { class: "right" }, "All " + questions.length + " gradients done.")); return; }
    const n = questions[practice.pos];
    const hint = el("table", {});
    for (const e of uses(n)) {
      const u = dst[e];
      const how = isVjp(u) ? [" (a vector-Jacobian product)"] : [", local d" + name[u] + "/d" + name[n] + " = ", numEl(local[e])];
      hint.append(el("tr", {}, el("td", {}, "used by ", link(u), ": " + dRoot(u) + " = ", practice.revealed[u] ? numEl(passGrad[u]) : "?", ...how)));
    }
    const input = el("input", { id: "answer", type: "text", inputmode: "decimal", autocomplete: "off", "aria-label": dRoot(n) });
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); check(); } });
    box.append(el("p", {}, el("span", { class: "mono" }, dRoot(n) + " = ")), el("div", { class: "row" }, input,
      el("button", { id: "check", on: check }, "Check"),
      el("button", { id: "show-answer", on: () => { practice.feedback = ["muted", "The answer: " + dRoot(n) + " = " + num(passGrad[n]) + "."]; advance(n); } }, "Show answer")), hint);
    setTimeout(() => input.focus(), 0);
  }

  // --- find -------------------------------------------------------------------------------------
  const findBox = $("find"), results = $("find-results");
  const lower = name.map((s, i) => (s + " " + label[i]).toLowerCase());
  function find() {
    const q = findBox.value.trim().toLowerCase();
    results.replaceChildren();
    if (!q) { results.hidden = true; return; }
    const hits = [];
    for (let n = 0; n < N && hits.length < 50; n++) if (lower[n].includes(q)) hits.push(n);
    hits.sort((a, b) => (name[a].toLowerCase() === q ? -1 : 0) - (name[b].toLowerCase() === q ? -1 : 0));
    for (const n of hits) results.append(el("li", {}, el("button", { "data-node": name[n], on: () => goTo(n) }, name[n] + (label[n] ? "  (" + label[n] + ")" : ""))));
    if (!hits.length) results.append(el("li", { class: "muted" }, "no value matches"));
    results.hidden = false;
  }
  function goTo(n) {
    results.hidden = true;
    reveal(n);
    select(n);
    centreOn(n, 0.8);
    state.flash = n;
    setTimeout(() => { state.flash = -1; redraw(); }, 1200);
  }
  findBox.addEventListener("input", find);
  findBox.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { const first = results.querySelector("button"); if (first) first.click(); }
    if (ev.key === "Escape") { findBox.value = ""; find(); findBox.blur(); }
  });

  // --- buttons and keys ---------------------------------------------------------------------------
  $("fit").addEventListener("click", fit);
  $("step-first").addEventListener("click", () => goStep(0));
  $("step-back").addEventListener("click", () => goStep(state.step - 1));
  $("step-next").addEventListener("click", () => goStep(state.mode === "step" ? state.step + 1 : 1));
  $("step-last").addEventListener("click", () => goStep(S));
  $("practice-toggle").addEventListener("click", () => (state.mode === "practice" ? leave() : startPractice()));
  $("mode-view").addEventListener("click", leave);
  function leave() { setMode("view"); $("step-count").textContent = ""; details(); redraw(); }
  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLInputElement;
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "f") { ev.preventDefault(); findBox.focus(); }
      return;
    }
    const { w, h } = screen();
    const keys = {
      ArrowRight: () => goStep(state.mode === "step" ? state.step + 1 : 1), n: () => goStep(state.mode === "step" ? state.step + 1 : 1),
      ArrowLeft: () => goStep(state.step - 1), p: () => goStep(state.step - 1),
      Home: () => goStep(0), End: () => goStep(S),
      "/": () => findBox.focus(), f: () => findBox.focus(),
      "+": () => zoomAt(1.25, w / 2, h / 2), "=": () => zoomAt(1.25, w / 2, h / 2), "-": () => zoomAt(0.8, w / 2, h / 2),
      0: fit, Escape: () => { leave(); select(-1); },
      c: () => { if (state.selected >= 0 && state.selected < N && group[state.selected] >= 0) collapse(group[state.selected]); else if (state.selected >= N) expand(state.selected - N); },
    };
    const act = keys[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });
  window.addEventListener("resize", () => { sizeCanvas(); redraw(); });

  // --- start ---------------------------------------------------------------------------------------
  $("title").textContent = document.title;
  sizeCanvas();
  layout();
  stats();
  groupTools();
  replayTo(0);
  setMode("view");
  fit();
  if (state.view.k < 0.3) centreOn(L.rep[ROOT], 0.7); // a big graph opens on its output
  draw();
  // for scripts and tests that drive the page: where a value is drawn, in page pixels
  window.gradwalk = {
    values: N,
    boxes: () => L.items.length,
    locate(text) {
      const n = name.indexOf(text);
      if (n < 0) return null;
      reveal(n);
      if (!onScreen(n)) centreOn(n, 0.8);
      draw();
      const r = canvas.getBoundingClientRect(), v = state.view;
      const b = L.rep[n];
      return { x: r.left + (L.x[b] + L.w[b] / 2 - v.x) * v.k, y: r.top + (L.y[b] + L.h[b] / 2 - v.y) * v.k };
    },
    readyMs: performance.now(),
  };
  document.documentElement.dataset.ready = "true";
})();
