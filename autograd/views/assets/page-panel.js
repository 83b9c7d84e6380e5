// gradwalk's graph page, part 4 of 5: the panel beside the graph. A value's numbers and the
// chain-rule sum behind its gradient, a collapsed group's, collapsing and expanding, stepping
// through the backward pass, the practice mode, and finding a value by name.
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
  if (isVjp(n)) { // no number of its own: how its outputs were computed
    for (const [k, v] of vjpDetails[n]) rows.append(el("tr", { class: "detail" }, el("td", {}, k), el("td", { class: "n" }, numEl(F(v)))));
  } else rows.append(el("tr", {}, el("td", {}, "data"), el("td", { class: "n" }, numEl(data[n], { id: "d-data" }))));
  if (!isConst(n) && !isVjp(n)) {
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
  const lines = groupLines(g, false);
  box.append(el("h2", {}, el("span", { class: "mono" }, lines[0][0]), el("span", { class: "role" }, groups[g][2])));
  box.append(el("p", {}, L.members[b] + " values collapsed into this box" + (isChain(g) ? ": a chain of " + about[g].chain[0] + ", each link read only by the next (as Python's sum makes)." : ".")));
  const summary = el("div", { class: "mono summary" });
  for (const [text] of lines.slice(1)) summary.append(el("div", {}, text));
  box.append(summary);
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
  openView(N + g);
  select(N + g, true);
}
function expand(g) {
  state.collapsed.delete(g);
  for (let h = groups[g][1]; h >= 0; h = groups[h][1]) state.collapsed.delete(h);
  relayout();
  select(-1);
  // refit: the whole graph if it fits legibly, else the group's first value
  let first = -1;
  for (let n = 0; n < N && first < 0; n++) for (let h = group[n]; h >= 0; h = groups[h][1]) if (h === g) { first = L.rep[n]; break; }
  openView(first >= 0 ? first : undefined);
}
function groupTools() {
  if (!NG) return;
  const box = $("group-tools");
  box.hidden = false;
  const kinds = [...new Set(groups.map((g) => g[2]))];
  for (const kind of kinds) {
    box.append(el("button", { "data-kind": kind, on: () => {
      // (long chains stay as they are)
      const keep = [...state.collapsed].filter(isChain);
      state.collapsed = new Set([...keep, ...groups.map((g, i) => (g[2] === kind ? i : -1)).filter((i) => i >= 0)]);
      relayout(); openView();
    } }, "Collapse every " + kind));
  }
  box.append(el("button", { id: "expand-all", on: () => { state.collapsed.clear(); relayout(); openView(); } }, "Expand all"));
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

