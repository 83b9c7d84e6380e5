// gradwalk's graph page, part 5 of 5: pointer, keys and buttons, and the start.
let drag = null;
canvas.addEventListener("pointerdown", (ev) => {
  drag = { x: ev.clientX, y: ev.clientY, vx: state.view.x, vy: state.view.y, moved: false };
  canvas.setPointerCapture(ev.pointerId);
});
canvas.addEventListener("pointermove", (ev) => {
  if (!drag) { canvas.style.cursor = boxAt(ev.offsetX, ev.offsetY) >= 0 ? "pointer" : ""; return; }
  const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
  if (drag.moved) { state.view.x = drag.vx - dx / state.view.k; state.view.y = drag.vy - dy / state.view.k; state.fitted = false; redraw(); }
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

// --- buttons and keys ---------------------------------------------------------------------------
$("fit").addEventListener("click", () => { fit(); state.fitted = true; });
$("export-svg").addEventListener("click", exportSvg);
$("export-png").addEventListener("click", exportPng);
{ // the overview map: a click or a drag moves the view there
  const o = $("overview");
  let down = false;
  o.addEventListener("pointerdown", (ev) => { down = true; o.setPointerCapture(ev.pointerId); overviewTo(ev); });
  o.addEventListener("pointermove", (ev) => { if (down) overviewTo(ev); });
  o.addEventListener("pointerup", () => { down = false; });
}
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
// a resize refits the page's own view, and keeps the middle of the reader's
window.addEventListener("resize", () => {
  const { w, h } = screen(), v = state.view;
  const cx = v.x + w / 2 / v.k, cy = v.y + h / 2 / v.k; // (the old size: the canvas has not changed yet)
  const before = { w: canvas.width / (window.devicePixelRatio || 1), h: canvas.height / (window.devicePixelRatio || 1) };
  sizeCanvas();
  if (state.fitted) openView();
  else { const now = screen(); v.x = cx - (before.w / 2 - now.w / 2 + now.w / 2) / v.k; v.y = cy - (before.h / 2 - now.h / 2 + now.h / 2) / v.k; }
  redraw();
});

// --- start ---------------------------------------------------------------------------------------
// The page opens on the finest level of detail that fits the window legibly: every value; else
// each innermost group (a neuron) collapsed; else each group at the next level out (a layer).
// Long chains (a Python sum) start folded. When no level fits, the finest one that can be laid
// out opens on the output, with the overview map.
function openingLevels() {
  const depth = groups.map(() => 0);
  groups.forEach((g, i) => { if (g[1] >= 0) depth[i] = depth[g[1]] + 1; });
  const chains = groups.map((_, i) => i).filter(isChain);
  const nested = groups.map((_, i) => i).filter((i) => !isChain(i));
  const levels = [chains];
  const deepest = Math.max(-1, ...nested.map((i) => depth[i]));
  for (let d = deepest; d >= 0; d--) levels.push([...chains, ...nested.filter((i) => depth[i] === d)]);
  return levels;
}
$("title").textContent = document.title;
sizeCanvas();
replayTo(0);
setMode("view");
{
  let chosen = null;
  for (const level of openingLevels()) {
    state.collapsed = new Set(level);
    layout();
    if (chosen === null && L.engine === "dagre") chosen = level;
    if (L.engine === "dagre" && fitsLegibly()) { chosen = level; break; }
  }
  if (chosen !== null) { state.collapsed = new Set(chosen); layout(); }
}
stats();
groupTools();
openView();
draw();
// for scripts and tests that drive the page: where a value is drawn, in page pixels
window.gradwalk = {
  values: N,
  boxes: () => L.items.length,
  engine: () => L.engine,
  view: () => ({ ...state.view, fitted: state.fitted, width: L.width, height: L.height }),
  locate(text) { // a value's name, or a group's (a collapsed box)
    const n = name.indexOf(text), g = groups.findIndex((gr) => gr[0] === text);
    if (n < 0 && !L.items.includes(N + g)) return null;
    if (n >= 0) reveal(n);
    const b = n >= 0 ? L.rep[n] : N + g;
    if (!onScreen(b) || state.view.k < FULL) centreOn(b, FULL + 0.1);
    draw();
    const r = canvas.getBoundingClientRect(), v = state.view;
    return { x: r.left + (L.x[b] + L.w[b] / 2 - v.x) * v.k, y: r.top + (L.y[b] + L.h[b] / 2 - v.y) * v.k };
  },
  // every box and text as drawn now, in page pixels: what the tests measure legibility by
  drawn() {
    draw();
    const r = canvas.getBoundingClientRect(), v = state.view;
    const at = (x, y) => [r.left + (x - v.x) * v.k, r.top + (y - v.y) * v.k];
    return {
      k: v.k,
      texts: drawn.map((t) => ({ ...t, x: t.x + r.left, y: t.y + r.top })),
      boxes: L.items.map((b) => { const [x, y] = at(L.x[b], L.y[b]); return { box: b < N ? name[b] : groups[b - N][0], group: b >= N, x, y, w: L.w[b] * v.k, h: L.h[b] * v.k, badge: stepBadge(b), lines: boxLines(b, false).map((l) => l[0]) }; }),
      labels: L.labels.map((p, i) => (p ? { text: L.labelText[i], x: at(p[0], p[1])[0], y: at(p[0], p[1])[1], from: L.ea[i] < N ? name[L.ea[i]] : groups[L.ea[i] - N][0], to: L.eb[i] < N ? name[L.eb[i]] : groups[L.eb[i] - N][0] } : null)).filter(Boolean),
      clusters: L.clusters.map((c) => { const [x, y] = at(c.x, c.y); return { group: groups[c.g][0], x, y, w: c.w * v.k, h: c.h * v.k }; }),
      canvas: { x: r.left, y: r.top, w: r.width, h: r.height },
      overview: !$("overview").hidden,
    };
  },
  zoom(k) { const { w, h } = screen(); zoomAt(k / state.view.k, w / 2, h / 2); draw(); },
  svg: () => viewSvg(),
  // how long the layout of the boxes shown now takes, in ms, with one engine or the other
  layoutMs(engine) { const t0 = performance.now(); layout(engine); const ms = performance.now() - t0; layout(); return { ms, boxes: L.items.length, arrows: L.ea.length }; },
  readyMs: performance.now(),
};
document.documentElement.dataset.ready = "true";
