// gradwalk's graph page, part 1 of 5: the data. Every number shown comes from the JSON the
// engine wrote into the page (autograd/views/page_data.py); this part reads it into typed
// columns, formats numbers, and replays the backward pass the engine recorded.
const RAW = JSON.parse(document.getElementById("gradwalk-data").textContent);
const F = (v) => (typeof v === "string" ? Number(v) : v); // "NaN", "Infinity" -> numbers

// --- the graph, as typed columns ----------------------------------------------------------
const nodes = RAW.nodes;
const N = nodes.name.length;
const ROOT = RAW.root;
const name = nodes.name, label = nodes.label, op = nodes.op, role = nodes.role;
const formulaOf = nodes.formula;
const vjpDetails = nodes.details; // [[name, number], ...] of a vector-Jacobian-product node, or null
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
const about = RAW.about; // what each group's collapsed box shows
const NG = groups.length;
const M = N + NG; // boxes: a node i, or a collapsed group N + g
const steps = RAW.steps;
const S = steps.length;
const questions = RAW.questions;
const seed = F(RAW.seed);
const rankdir = RAW.rankdir || "LR";
const isChain = (g) => about[g].chain !== undefined;

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
// the step at which each node sends its gradient back (backward's order), -1 for none
const stepOf = new Int32Array(N).fill(-1);
steps.forEach((s, k) => { stepOf[s[0]] = k; });
// a vector-Jacobian product (fixed_point, custom_vjp): no number per arrow, one product of
// its outputs' gradients sends into all its operands at once
const isVjp = (n) => vjpDetails[n] !== null;
const additionsInto = new Map(); // node -> [[step, edge, added, total]]
steps.forEach((s, k) => s[2].forEach(([e, added, total]) => {
  const p = src[e];
  if (!additionsInto.has(p)) additionsInto.set(p, []);
  additionsInto.get(p).push([k, e, F(added), F(total)]);
}));
const isConst = (n) => role[n] === "c";
const rootName = name[ROOT];

// --- numbers as text: the same rules as the Python views ------------------------------------
function num(x) { // 4 decimals, else scientific (autograd.views.names.num)
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const a = Math.abs(x);
  if (x === 0 || (a >= 1e-3 && a < 1e6)) return (Object.is(x, -0) ? "-" : "") + x.toFixed(4);
  return x.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2");
}
function brief(x) { // a few characters, for lists in a collapsed box (picture.brief)
  if (x === null || x === undefined) return "?";
  if (!Number.isFinite(x)) return num(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 0.01 && a < 1000 ? x.toFixed(2) : x.toExponential(0).replace(/e([+-])(\d)$/, "e$10$2");
}
const listing = (items, limit = 4) => // picture.listing_short
  items.length <= limit ? items.join(" ") : items.slice(0, limit).join(" ") + " ...+" + (items.length - limit);
const full = (x) => String(x); // shortest text that reads back as the same double

// --- state --------------------------------------------------------------------------------
const state = {
  mode: "view", // "view": the .grad fields; "step": the pass replayed; "practice"
  step: 0, // steps applied so far, 0..S
  selected: -1, // a box id
  collapsed: new Set(),
  view: { x: 0, y: 0, k: 1 },
  fitted: true, // the view is the one the page chose (refit on resize), not the reader's
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

// the gradient a value shows now, or null for "not known yet"
function shownGrad(n) {
  if (state.mode === "step") return reached[n] ? run[n] : null;
  if (state.mode === "practice") return practice.revealed[n] ? passGrad[n] : null;
  return gradField[n];
}

// the lines a box shows: [text, bold] (the first line is its name)
function valueLines(n, forWidth) {
  const lines = [[name[n], true]];
  if (isVjp(n)) {
    for (const [k, v] of vjpDetails[n]) lines.push([k === "outputs" ? v + " outputs" : k + " " + (k.includes("iterations") ? String(v) : num(F(v))), false]);
  } else {
    lines.push(["data " + num(data[n]), false]);
  }
  if (!isConst(n) && !isVjp(n)) { // a vjp node's gradient is its outputs' (shown on them)
    if (forWidth) { // the widest the grad line can be: the field, the pass, "?"
      const a = "grad " + num(gradField[n]), b = "grad " + num(passGrad[n]);
      lines.push([a.length >= b.length ? a : b, false]);
    } else {
      const g = shownGrad(n);
      lines.push(["grad " + (g === null ? "?" : num(g)), false]);
    }
  }
  return lines;
}
function groupLines(g, forWidth) {
  const a = about[g];
  const gradOf = (n) => { const s = forWidth ? gradField[n] : shownGrad(n); return s === null ? null : s; };
  if (isChain(g)) {
    const [chainOp, terms, word] = a.chain;
    const out = a.outs[0];
    const lines = [[(chainOp === "+" ? "sum" : chainOp === "*" ? "product" : chainOp + " chain") + " of " + terms + " " + word, true],
      ["data " + num(data[out]), false]];
    if (!isConst(out)) lines.push(["grad " + (gradOf(out) === null ? "?" : num(gradOf(out))), false]);
    return lines;
  }
  const kind = groups[g][2];
  const acts = [...new Set(a.outs.map((n) => op[n] || "leaf"))];
  const lines = [[groups[g][0], true],
    [kind + " · " + (acts.length === 1 ? acts[0] : "mixed") + (a.outs.length > 1 ? " · " + a.outs.length + " outputs" : ""), false],
    ["data " + listing(a.outs.map((n) => brief(data[n]))), false],
    ["grad " + listing(a.outs.map((n) => brief(gradOf(n)))), false]];
  if (a.tensors.length) {
    for (const [t, ps] of a.tensors) lines.push([t + ".grad " + listing(ps.map((p) => brief(gradOf(p)))), false]);
  } else if (a.params.length) {
    let most = 0;
    for (const p of a.params) { const v = gradOf(p); if (v !== null && Number.isFinite(v)) most = Math.max(most, Math.abs(v)); }
    lines.push([a.params.length + " params, max |grad| " + brief(most), false]);
  }
  return lines;
}

// the backward steps a box takes part in, as its badge says ("3", or "4-12")
function stepBadge(b) {
  if (b < N) return stepOf[b] >= 0 ? String(stepOf[b] + 1) : "";
  let lo = Infinity, hi = -1;
  for (let n = 0; n < N; n++) if (L.rep[n] === b && stepOf[n] >= 0) { lo = Math.min(lo, stepOf[n] + 1); hi = Math.max(hi, stepOf[n] + 1); }
  return hi < 0 ? "" : lo === hi ? String(lo) : lo + "–" + hi;
}
