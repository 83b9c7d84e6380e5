// gradwalk's graph page, part 2 of 5: the layout. Which boxes are shown (a value, or a collapsed
// group standing for its values), how big each is (its text measured), the arrows between them
// (merged where several run between the same two boxes), and where everything goes: dagre, a
// maintained layered-layout library (assets/dagre.min.js, MIT), places the boxes, routes the
// arrows around them and gives each arrow's number a place of its own; a graph past
// LAYOUT_BUDGET goes to the fast layout (page-layout-fast.js) instead.
const canvas = document.getElementById("graph");
const ctx = canvas.getContext("2d");
const MONO = "ui-monospace, Menlo, Consolas, \"DejaVu Sans Mono\", monospace";
const FONT = "12px " + MONO, BOLD = "bold 12px " + MONO, SMALL = "10px " + MONO;
const LINE = 15, PAD = 7, NAME_MAX = 34;
const short = (s) => (s.length > NAME_MAX ? s.slice(0, NAME_MAX - 1) + "…" : s);
// dagre's time grows fast with the graph (2 s for 180 boxes and 386 arrows, 35 s for 947 and 1,382,
// minutes for 5,000 values, on a loaded 2-core machine); past this many boxes plus arrows, the fast layout
const LAYOUT_BUDGET = 800;

const L = {
  rep: new Int32Array(N), items: [], x: new Float64Array(M), y: new Float64Array(M),
  w: new Float64Array(M), h: new Float64Array(M), members: new Int32Array(M),
  ea: [], eb: [], ecount: [], eid: [], slot: [], labelText: [], points: [], labels: [],
  bezier: false, clusters: [], width: 0, height: 0, engine: "",
};

const textWidth = (text, font) => { ctx.font = font; return ctx.measureText(text).width; };
const boxLines = (b, forWidth) => (b >= N ? groupLines(b - N, forWidth) : valueLines(b, forWidth));

function boxSize(b) {
  const lines = boxLines(b, true);
  let w = 0;
  lines.forEach(([text, bold], i) => {
    // the name line has the op (or the group's kind) beside it
    const tag = i === 0 ? boxTag(b) : "";
    w = Math.max(w, textWidth(short(text), bold ? BOLD : FONT) + (tag ? textWidth(tag, FONT) + 14 : 0));
  });
  L.w[b] = Math.ceil(Math.max(w, 60) + 2 * PAD);
  L.h[b] = lines.length * LINE + 2 * PAD - 2;
}
function boxTag(b) {
  if (b < N) return op[b];
  const g = b - N;
  return isChain(g) ? about[g].chain[0] : "";
}

// the arrow's number: the local derivative, or how many arrows it stands for
function arrowText(i) {
  const e = L.eid[i], b = L.eb[i];
  if (e < 0) return "×" + L.ecount[i];
  if (b >= N || isVjp(dst[e])) return ""; // into a collapsed group, or a vector-Jacobian product
  return Number.isNaN(local[e]) ? "∂ undefined" : "∂ " + num(local[e]);
}

function layout(engine) { // engine: "dagre" or "fast" to force one (benchmarks/page_open.py)
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
    // two arrows between the same two values stay two (x * x); into or out of a group, one
    const id = a < N && b < N ? "e" + e : a * M + b;
    const k = seen.get(id);
    if (k === undefined) { seen.set(id, L.ea.length); L.ea.push(a); L.eb.push(b); L.ecount.push(1); L.eid.push(e); L.slot.push(e - inStart[dst[e]]); }
    else { L.ecount[k]++; L.eid[k] = -1; }
  }
  L.labelText = L.ea.map((_, i) => arrowText(i));
  if (engine ? engine === "dagre" : items.length + L.ea.length <= LAYOUT_BUDGET) {
    dagreLayout(items, outer);
    L.engine = "dagre";
  } else {
    fastLayout(items, key);
    L.engine = "fast";
  }
}

function dagreLayout(items, outer) {
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir, nodesep: 16, ranksep: 34, edgesep: 10, marginx: 24, marginy: 24,
    ranker: items.length > 300 ? "longest-path" : "network-simplex" });
  for (const b of items) g.setNode("b" + b, { width: L.w[b], height: L.h[b] });
  // the open groups with anything shown inside, outlined around their boxes
  const open = new Set();
  // (only the outermost: a neuron's values across a batch of samples, held together, would
  // stack the layer's neurons into a column many times as tall as the graph is wide)
  const shown = (gr) => gr >= 0 && outer[gr] < 0 && !state.collapsed.has(gr) && (groups[gr][1] < 0 || isChain(gr));
  for (const b of items) {
    const start = b < N ? group[b] : groups[b - N][1];
    let inner = -1;
    for (let gr = start; gr >= 0; gr = groups[gr][1]) if (shown(gr)) { inner = gr; break; }
    if (inner >= 0) g.setParent("b" + b, "g" + inner);
    for (let gr = inner; gr >= 0; gr = groups[gr][1]) {
      if (!shown(gr) || open.has(gr)) continue;
      open.add(gr);
      g.setNode("g" + gr, {});
      let up = groups[gr][1];
      while (up >= 0 && !shown(up)) up = groups[up][1];
      if (up >= 0) g.setParent("g" + gr, "g" + up);
    }
  }
  ctx.font = SMALL;
  L.ea.forEach((a, i) => {
    const text = L.labelText[i];
    const edge = text ? { width: ctx.measureText(text).width + 8, height: 14, labelpos: "c" } : {};
    edge.minlen = 1;
    g.setEdge("b" + a, "b" + L.eb[i], edge, "a" + i);
  });
  dagre.layout(g);
  for (const b of items) {
    const n = g.node("b" + b);
    L.x[b] = n.x - L.w[b] / 2; L.y[b] = n.y - L.h[b] / 2;
  }
  L.bezier = false;
  L.points = L.ea.map((a, i) => g.edge("b" + a, "b" + L.eb[i], "a" + i).points.map((p) => [p.x, p.y]));
  L.labels = L.ea.map((a, i) => {
    const e = g.edge("b" + a, "b" + L.eb[i], "a" + i);
    return L.labelText[i] && e.x !== undefined ? [e.x, e.y] : null;
  });
  L.clusters = [...open].map((gr) => {
    const c = g.node("g" + gr);
    return { g: gr, x: c.x - c.width / 2, y: c.y - c.height / 2, w: c.width, h: c.height };
  });
  // the drawing's extent: boxes, outlines and arrows (dagre's own may leave out a margin)
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const take = (x, y) => { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); };
  for (const b of items) { take(L.x[b], L.y[b]); take(L.x[b] + L.w[b], L.y[b] + L.h[b]); }
  for (const c of L.clusters) { take(c.x, c.y - 16); take(c.x + c.w, c.y + c.h); }
  for (const p of L.points) for (const [x, y] of p) take(x, y);
  const dx = 20 - x0, dy = 20 - y0;
  for (const b of items) { L.x[b] += dx; L.y[b] += dy; }
  for (const c of L.clusters) { c.x += dx; c.y += dy; }
  for (const p of L.points) for (const q of p) { q[0] += dx; q[1] += dy; }
  for (const l of L.labels) if (l) { l[0] += dx; l[1] += dy; }
  L.width = x1 - x0 + 40; L.height = y1 - y0 + 40;
}
