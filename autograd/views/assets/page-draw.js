// gradwalk's graph page, part 3 of 5: drawing. One drawing routine paints through a "painter":
// the canvas on screen, or an SVG document for the export. What it draws depends on the zoom,
// so that every text drawn is legible (at least MIN_PX pixels high): the full boxes and the
// arrows' numbers when they are big enough, each box's name alone when they are not, and below
// that only the names of groups, collapsed boxes and the output, at a fixed size, as a summary.
// The overview map shows the whole graph and the part in view when the view holds less.
const MIN_PX = 8; // the smallest text drawn, in screen pixels
const FULL = 0.7; // from this zoom, boxes show all their lines (12 px text at 8.4 px)
const ARROW_TEXT = 0.8; // from this zoom, arrows show their numbers (10 px text at 8 px)
const NAMES = 0.12; // from this zoom to FULL, boxes show their names only
let scale = 0; // the largest |gradient|: the deepest colour
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

// --- painters: the same calls draw on the canvas or write SVG --------------------------------
function canvasPainter(view, dpr) {
  const { x: vx, y: vy, k } = view;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.setTransform(dpr * k, 0, 0, dpr * k, -vx * dpr * k, -vy * dpr * k);
  const curve = (pts, bezier) => {
    ctx.beginPath();
    ctx.moveTo(pts[0][0], pts[0][1]);
    if (bezier) ctx.bezierCurveTo(pts[1][0], pts[1][1], pts[2][0], pts[2][1], pts[3][0], pts[3][1]);
    else smooth(pts, (x, y) => ctx.lineTo(x, y), (cx, cy, x, y) => ctx.quadraticCurveTo(cx, cy, x, y));
  };
  return {
    rect(x, y, w, h, r, fill, stroke, width, dash) {
      ctx.beginPath();
      if (r && ctx.roundRect) ctx.roundRect(x, y, w, h, r); else ctx.rect(x, y, w, h);
      if (fill) { ctx.fillStyle = fill; ctx.fill(); }
      if (stroke) { ctx.setLineDash(dash || []); ctx.lineWidth = width; ctx.strokeStyle = stroke; ctx.stroke(); ctx.setLineDash([]); }
    },
    line(pts, bezier, stroke, width) { curve(pts, bezier); ctx.lineWidth = width; ctx.strokeStyle = stroke; ctx.stroke(); },
    polygon(pts, fill) { ctx.beginPath(); pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y))); ctx.closePath(); ctx.fillStyle = fill; ctx.fill(); },
    text(s, x, y, font, color, align) { ctx.font = font; ctx.fillStyle = color; ctx.textAlign = align || "left"; ctx.textBaseline = "top"; ctx.fillText(s, x, y); },
  };
}

function svgPainter(out) {
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  const f = (v) => Math.round(v * 100) / 100;
  const d = (pts, bezier) => {
    let s = "M" + f(pts[0][0]) + " " + f(pts[0][1]);
    if (bezier) return s + "C" + pts.slice(1).map(([x, y]) => f(x) + " " + f(y)).join(" ");
    smooth(pts, (x, y) => { s += "L" + f(x) + " " + f(y); }, (cx, cy, x, y) => { s += "Q" + f(cx) + " " + f(cy) + " " + f(x) + " " + f(y); });
    return s;
  };
  const fontAttrs = (font) => {
    const m = /^(bold )?([\d.]+)px (.*)$/.exec(font);
    return 'font-family="' + esc(m[3]) + '" font-size="' + f(Number(m[2])) + '"' + (m[1] ? ' font-weight="bold"' : "");
  };
  return {
    rect(x, y, w, h, r, fill, stroke, width, dash) {
      out.push('<rect x="' + f(x) + '" y="' + f(y) + '" width="' + f(w) + '" height="' + f(h) + '" rx="' + (r || 0) + '" fill="' + (fill || "none") + '"' +
        (stroke ? ' stroke="' + stroke + '" stroke-width="' + f(width) + '"' + (dash ? ' stroke-dasharray="' + dash.join(" ") + '"' : "") : "") + "/>");
    },
    line(pts, bezier, stroke, width) { out.push('<path d="' + d(pts, bezier) + '" fill="none" stroke="' + stroke + '" stroke-width="' + f(width) + '"/>'); },
    polygon(pts, fill) { out.push('<polygon points="' + pts.map(([x, y]) => f(x) + "," + f(y)).join(" ") + '" fill="' + fill + '"/>'); },
    text(s, x, y, font, color, align) {
      const anchor = align === "center" ? "middle" : align === "right" ? "end" : "start";
      out.push('<text x="' + f(x) + '" y="' + f(y) + '" ' + fontAttrs(font) + ' fill="' + color + '" text-anchor="' + anchor + '" dominant-baseline="text-before-edge">' + esc(s) + "</text>");
    },
  };
}

// a polyline as a smooth curve: straight to the first midpoint, then curves through each
// corner to the next midpoint, straight to the end
function smooth(pts, lineTo, quadTo) {
  if (pts.length < 3) { for (const [x, y] of pts.slice(1)) lineTo(x, y); return; }
  const mid = (a, b) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  let m = mid(pts[0], pts[1]);
  lineTo(m[0], m[1]);
  for (let i = 1; i < pts.length - 1; i++) {
    m = i === pts.length - 2 ? pts[i + 1] : mid(pts[i], pts[i + 1]);
    quadTo(pts[i][0], pts[i][1], m[0], m[1]);
  }
}

// --- what to mark ------------------------------------------------------------------------------
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

// --- the drawing ---------------------------------------------------------------------------------
let frame = 0;
let drawn = []; // every text of the last drawing, in screen pixels (for tests and scripts)
function redraw() { if (!frame) frame = requestAnimationFrame(draw); }

function draw() {
  frame = 0;
  const dpr = window.devicePixelRatio || 1;
  const { w, h } = screen();
  paint(canvasPainter(state.view, dpr), state.view, w, h);
  overview();
}

function paint(P, view, sw, sh) {
  const { x: vx, y: vy, k } = view;
  const x0 = vx, y0 = vy, x1 = vx + sw / k, y1 = vy + sh / k;
  const { hot, hotEdges } = highlights();
  drawn = [];
  const taken = []; // screen rectangles of the summary labels placed so far
  const text = (s, x, y, px, font, color, align) => { // px: the font's size in world units
    const screenPx = px * k;
    if (screenPx < MIN_PX - 1e-9) return false;
    const width = textWidth(s, font) ; // at the font's own size
    const left = align === "center" ? x - width / 2 : align === "right" ? x - width : x;
    drawn.push({ text: s, px: screenPx, x: (left - vx) * k, y: (y - vy) * k, w: width * k, h: px * k });
    P.text(s, x, y, font, color, align);
    return true;
  };
  const fontAt = (px, bold) => (bold ? "bold " : "") + px + "px " + MONO;
  const fitText = (s, room, font) => { // the text cut (with …) to fit `room` world units
    if (textWidth(s, font) <= room) return s;
    let lo = 0, hi = s.length;
    while (lo < hi) { const m = (lo + hi + 1) >> 1; if (textWidth(s.slice(0, m) + "…", font) <= room) lo = m; else hi = m - 1; }
    return lo >= 2 ? s.slice(0, lo) + "…" : "";
  };
  const visibleBox = (b) => !(L.x[b] > x1 || L.y[b] > y1 || L.x[b] + L.w[b] < x0 || L.y[b] + L.h[b] < y0);
  const visiblePts = (p) => {
    let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
    for (const [x, y] of p) { a = Math.min(a, x); b = Math.min(b, y); c = Math.max(c, x); d = Math.max(d, y); }
    return !(a > x1 || b > y1 || c < x0 || d < y0);
  };

  // group outlines, outermost first
  for (const c of L.clusters) {
    if (c.x > x1 || c.y > y1 || c.x + c.w < x0 || c.y + c.h < y0) continue;
    P.rect(c.x, c.y, c.w, c.h, 10, isChain(c.g) ? "#fbf7ec" : "#f5f6fa", "#9aa0b4", Math.max(1, 1 / k), [6, 4]);
  }
  // arrows
  const A = L.ea.length;
  const lw = Math.max(1, 0.9 / k);
  for (let i = 0; i < A; i++) {
    const p = L.points[i];
    if (!visiblePts(p)) continue;
    const e = L.eid[i];
    const isHot = e >= 0 && hotEdges.has(e);
    const merged = L.ecount[i] > 1;
    const color = isHot ? "#e08000" : merged ? "#8a8a92" : "#a3a3ab";
    const width = isHot ? Math.max(2.5, 2 / k) : merged ? Math.min(6, 1 + Math.log2(L.ecount[i])) * lw : lw;
    P.line(p, L.bezier, color, width);
    // the arrowhead, along the last piece of the arrow
    const [tx, ty] = p[p.length - 1], [fx, fy] = p[p.length - 2];
    const ang = Math.atan2(ty - fy, tx - fx), s = Math.max(8, 5 / k);
    P.polygon([[tx, ty], [tx - s * Math.cos(ang - 0.4), ty - s * Math.sin(ang - 0.4)], [tx - s * Math.cos(ang + 0.4), ty - s * Math.sin(ang + 0.4)]], color);
  }
  // boxes
  const tier = k >= FULL ? "full" : k >= NAMES ? "names" : "summary";
  for (const b of L.items) {
    if (!visibleBox(b)) continue;
    const x = L.x[b], y = L.y[b], w = L.w[b], h = L.h[b];
    if (b >= N) {
      const chain = isChain(b - N);
      const out = about[b - N].outs[0];
      const g = out !== undefined ? shownGrad(out) : null;
      P.rect(x, y, w, h, 8, chain ? shade(g) : "#f3efe4", "#8b7d5a", 2);
    } else {
      const [color, width] = BORDER[role[b]];
      P.rect(x, y, w, h, role[b] === "p" ? 8 : 3, isConst(b) ? "#f4f4f4" : isVjp(b) ? "#fff8e6" : shade(shownGrad(b)), color, width, isConst(b) ? [4, 3] : null);
    }
    const mark = hot.get(b) || (b === state.flash ? "#0b57d0" : null);
    if (mark) P.rect(x - 4, y - 4, w + 8, h + 8, 4, null, mark, Math.max(3, 2 / k));
  }
  // the boxes' text
  for (const b of L.items) {
    if (!visibleBox(b)) continue;
    const x = L.x[b], y = L.y[b], w = L.w[b];
    const lines = boxLines(b, false);
    if (tier === "full") {
      lines.forEach(([s, bold], i) => text(i === 0 ? short(s) : s, x + PAD, y + PAD + i * LINE, 12, bold ? BOLD : FONT, "#111"));
      const tag = boxTag(b);
      if (tag) {
        const tw = textWidth(tag, FONT);
        P.rect(x + w - PAD - tw - 4, y + PAD - 2, tw + 8, LINE, 3, "#e6e6ec");
        text(tag, x + w - PAD - tw, y + PAD, 12, FONT, "#333");
      }
      const badge = stepBadge(b);
      if (badge) { // backward's order: the step at which this box sends its gradient back
        const bw = textWidth(badge, SMALL) + 8;
        P.rect(x - 6, y - 9, bw, 14, 7, "#fff3dc", "#e08000", 1);
        text(badge, x - 6 + bw / 2, y - 7, 10, SMALL, "#8a4b00", "center");
      }
    } else if (tier === "names") {
      const px = Math.max(12, (MIN_PX + 1) / k); // legible on screen, cut to the box's width
      const font = fontAt(px, true);
      const s = fitText(b >= N ? lines[0][0] : name[b], w - 2 * PAD, font);
      if (s && px <= L.h[b] - 2) text(s, x + PAD, y + (L.h[b] - px) / 2, px, font, "#111");
    }
  }
  // the arrows' numbers, each in the place dagre gave it
  if (k >= ARROW_TEXT) {
    for (let i = 0; i < A; i++) {
      const at = L.labels[i];
      if (!at || at[0] < x0 - 80 || at[0] > x1 + 80 || at[1] < y0 - 20 || at[1] > y1 + 20) continue;
      const s = L.labelText[i];
      const tw = textWidth(s, SMALL);
      const e = L.eid[i];
      P.rect(at[0] - tw / 2 - 3, at[1] - 7, tw + 6, 14, 3, "rgba(255,255,255,0.9)");
      text(s, at[0], at[1] - 5, 10, SMALL, e >= 0 && hotEdges.has(e) ? "#b05000" : "#444", "center");
    }
  }
  // a summary at any zoom: the groups' names, the collapsed boxes' and the output's, at a
  // size fixed on screen, each where it does not cover one placed before it
  const label = (s, wx, wy, px, color, bold) => {
    const world = px / k, font = fontAt(world, bold);
    const sx = (wx - vx) * k, sy = (wy - vy) * k, sw2 = textWidth(s, font) * k;
    if (sx > sw || sy > sh || sx + sw2 < 0 || sy + px < 0) return;
    if (taken.some((r) => sx < r[0] + r[2] + 4 && r[0] < sx + sw2 + 4 && sy < r[1] + r[3] + 2 && r[1] < sy + px + 2)) return;
    taken.push([sx, sy, sw2, px]);
    P.rect(wx - 2 / k, wy - 1 / k, sw2 / k + 4 / k, (px + 2) / k, 3 / k, "rgba(255,255,255,0.85)");
    text(s, wx, wy, world, font, color);
  };
  for (const c of L.clusters) { // an outline's name sits on its top edge
    const s = isChain(c.g) ? "chain of " + groups[c.g][2] : groups[c.g][0];
    label(s, c.x + 6 / k, c.y - 13 / k, 11, "#4b5170", false);
  }
  if (tier === "summary") {
    label(name[ROOT] + " (output)", L.x[L.rep[ROOT]], L.y[L.rep[ROOT]] - 16 / k, 12, "#000", true);
    for (const b of L.items) if (b >= N && visibleBox(b)) label(boxLines(b, false)[0][0], L.x[b], L.y[b] + L.h[b] / 2, 11, "#5a4a20", true);
  }
}

// --- the view: pan, zoom, fit, and the overview map --------------------------------------------
const screen = () => { const r = canvas.getBoundingClientRect(); return { w: r.width, h: r.height, left: r.left, top: r.top }; };
const fitZoom = () => { const { w, h } = screen(); return Math.min(1.25, (w - 40) / Math.max(L.width, 1), (h - 40) / Math.max(L.height, 1)); };
const fitsLegibly = () => fitZoom() >= FULL;

function sizeCanvas() {
  const dpr = window.devicePixelRatio || 1;
  const r = canvas.getBoundingClientRect();
  canvas.width = Math.max(1, Math.round(r.width * dpr));
  canvas.height = Math.max(1, Math.round(r.height * dpr));
}
function fit() {
  const { w, h } = screen();
  state.view.k = Math.max(fitZoom(), 0.02);
  state.view.x = L.width / 2 - w / 2 / state.view.k;
  state.view.y = L.height / 2 - h / 2 / state.view.k;
  redraw();
}
// the page's own choice of view: the whole graph when it fits legibly, else the output (or the
// box given) at a zoom where everything reads, with the overview map beside it
function openView(at) {
  if (fitsLegibly()) fit();
  else { centreOn(at === undefined ? L.rep[ROOT] : at, 1, true); clampView(); }
  state.fitted = true;
}
// no empty half screen past the graph's end: the view kept within the graph where it can be
function clampView() {
  const { w, h } = screen(), v = state.view, m = 20;
  const vw = w / v.k, vh = h / v.k;
  v.x = vw >= L.width ? L.width / 2 - vw / 2 : Math.min(Math.max(v.x, -m), L.width - vw + m);
  v.y = vh >= L.height ? L.height / 2 - vh / 2 : Math.min(Math.max(v.y, -m), L.height - vh + m);
}
function centreOn(b, zoom, exact) {
  const { w, h } = screen();
  if (zoom) state.view.k = exact ? zoom : Math.max(state.view.k, zoom);
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
  state.fitted = false;
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
// the whole graph in the corner, with the part in view outlined; shown when the view holds
// less than the whole graph
function overview() {
  const o = $("overview");
  const { w, h } = screen();
  const v = state.view;
  const whole = v.x <= 0 && v.y <= 0 && v.x + w / v.k >= L.width && v.y + h / v.k >= L.height;
  o.hidden = whole;
  if (whole) return;
  const c = o.getContext("2d"), dpr = window.devicePixelRatio || 1;
  if (o.width !== Math.round(o.clientWidth * dpr)) { o.width = Math.round(o.clientWidth * dpr); o.height = Math.round(o.clientHeight * dpr); }
  const ow = o.width / dpr, oh = o.height / dpr;
  const s = Math.min((ow - 8) / L.width, (oh - 8) / L.height);
  const ox = (ow - L.width * s) / 2, oy = (oh - L.height * s) / 2;
  overview.map = { s, ox, oy };
  c.setTransform(dpr, 0, 0, dpr, 0, 0);
  c.fillStyle = "#fff"; c.fillRect(0, 0, ow, oh);
  c.strokeStyle = "#9aa0b4"; c.lineWidth = 1;
  for (const cl of L.clusters) c.strokeRect(ox + cl.x * s, oy + cl.y * s, cl.w * s, cl.h * s);
  for (const b of L.items) {
    c.fillStyle = b === L.rep[ROOT] ? "#000" : b >= N ? "#8b7d5a" : "#8f96a8";
    c.fillRect(ox + L.x[b] * s, oy + L.y[b] * s, Math.max(1.5, L.w[b] * s), Math.max(1.5, L.h[b] * s));
  }
  c.strokeStyle = "#e08000"; c.lineWidth = 2;
  c.strokeRect(ox + v.x * s, oy + v.y * s, (w / v.k) * s, (h / v.k) * s);
}
function overviewTo(ev) {
  const m = overview.map;
  if (!m) return;
  const { w, h } = screen();
  const wx = (ev.offsetX - m.ox) / m.s, wy = (ev.offsetY - m.oy) / m.s;
  state.view.x = wx - w / 2 / state.view.k; state.view.y = wy - h / 2 / state.view.k;
  state.fitted = false;
  redraw();
}

// --- export: what the view shows, as SVG or PNG --------------------------------------------
function viewSvg() {
  const { w, h } = screen();
  const v = state.view;
  const out = [];
  const P = svgPainter(out);
  P.rect(v.x, v.y, w / v.k, h / v.k, 0, "#fff");
  paint(P, v, w, h);
  draw(); // the canvas's record of drawn text again
  return '<svg xmlns="' + SVG_NS + '" width="' + Math.round(w) + '" height="' + Math.round(h) +
    '" viewBox="' + [v.x, v.y, w / v.k, h / v.k].map((n) => Math.round(n * 100) / 100).join(" ") + '">\n' +
    "<title>" + rootName.replace(/&/g, "&amp;").replace(/</g, "&lt;") + "</title>\n" + out.join("\n") + "\n</svg>\n";
}
// (the namespace is a name, not an address: it is written in pieces so that the page holds
// no address at all, which its tests check)
const SVG_NS = ["http:", "", "www.w3.org", "2000", "svg"].join("/");
function save(blob, file) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = file;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
const fileName = (ext) => (rootName.replace(/[^A-Za-z0-9_.-]+/g, "_") || "graph") + "." + ext;
function exportSvg() { save(new Blob([viewSvg()], { type: "image/svg+xml" }), fileName("svg")); }
function exportPng() { draw(); canvas.toBlob((blob) => save(blob, fileName("png")), "image/png"); }
