// gradwalk's training page: the snapshots a Recorder took, one step at a time.
"use strict";
(function () {
  const R = JSON.parse(document.getElementById("gradwalk-data").textContent);
  const F = (v) => (typeof v === "string" ? Number(v) : v);
  function unpack(text, Kind) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return new Kind(bytes.buffer);
  }
  const names = R.names, P = names.length, steps = R.steps, S = steps.length;
  const loss = Float64Array.from(R.loss, F);
  const metrics = Object.entries(R.metrics).map(([k, v]) => [k, Float64Array.from(v, F)]);
  const pdata = unpack(R.data, Float64Array), pgrad = unpack(R.grad, Float64Array);
  const B = R.boundary;
  const scores = B ? unpack(B.scores, Float32Array) : null;
  const $ = (id) => document.getElementById(id);

  function num(x) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    const a = Math.abs(x);
    if (x === 0 || (a >= 1e-3 && a < 1e6)) return (Object.is(x, -0) ? "-" : "") + x.toFixed(4);
    return x.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2");
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  const numEl = (x, id) => el("span", { class: "n", "data-value": String(x), title: String(x), ...(id ? { id } : {}) }, num(x));

  const state = { k: S - 1, param: -1, playing: null };

  // --- canvases at the screen's resolution ----------------------------------------------------
  function prepare(canvas) {
    const dpr = window.devicePixelRatio || 1;
    const r = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(r.width * dpr));
    canvas.height = Math.max(1, Math.round(r.height * dpr));
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, w: r.width, h: r.height };
  }
  const POS = [0x3a, 0x7d, 0xc0], NEG = [0xd0, 0x4a, 0x3c];
  const PALETTE = ["#d04a3c", "#3a7dc0", "#1b7837", "#e08000", "#762a83", "#8c6d31", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2"];
  function tint(base, t) { return base.map((c) => Math.round(255 + (c - 255) * t)); }
  const rgb = (c) => "rgb(" + c.join(",") + ")";

  // --- the loss curve -----------------------------------------------------------------------
  const curve = $("curve");
  const PADL = 52, PADR = 12, PADT = 10, PADB = 24;
  function series() {
    return [["loss", loss, "#3a7dc0"], ...metrics.map(([k, v], i) => [k, v, ["#1b7837", "#e08000", "#762a83"][i % 3]])];
  }
  function drawCurve() {
    const { ctx, w, h } = prepare(curve);
    const pw = w - PADL - PADR, ph = h - PADT - PADB;
    const X = (i) => PADL + (S > 1 ? (i / (S - 1)) * pw : pw / 2);
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1;
    ctx.strokeRect(PADL, PADT, pw, ph);
    const all = series();
    all.forEach(([key, ys, color], si) => {
      let lo = Infinity, hi = -Infinity;
      for (const y of ys) if (Number.isFinite(y)) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
      if (key.startsWith("acc") && lo >= 0 && hi <= 1) { lo = 0; hi = 1; }
      if (!(hi > lo)) { hi = lo + 1; lo -= 1; }
      const Y = (y) => PADT + ph - ((y - lo) / (hi - lo)) * ph;
      ctx.strokeStyle = color; ctx.lineWidth = si ? 1.2 : 1.8;
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < S; i++) {
        if (!Number.isFinite(ys[i])) { pen = false; continue; }
        pen ? ctx.lineTo(X(i), Y(ys[i])) : ctx.moveTo(X(i), Y(ys[i]));
        pen = true;
      }
      ctx.stroke();
      if (si === 0) {
        ctx.fillStyle = "#555"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
        ctx.fillText(num(hi), PADL - 4, PADT + 6); ctx.fillText(num(lo), PADL - 4, PADT + ph - 6);
      }
    });
    ctx.fillStyle = "#555"; ctx.textAlign = "center"; ctx.textBaseline = "top";
    ctx.fillText("step " + steps[0], PADL + 20, PADT + ph + 6);
    ctx.fillText("step " + steps[S - 1], PADL + pw - 24, PADT + ph + 6);
    const x = X(state.k);
    ctx.strokeStyle = "#e08000"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, PADT); ctx.lineTo(x, PADT + ph); ctx.stroke();
    $("curve-legend").replaceChildren(...all.map(([key, , color]) =>
      el("span", { style: "margin-right: 12px" }, el("span", { class: "swatch", style: "background:" + color }), " " + key)),
      "each on its own scale; the loss from " + num(Math.min(...loss.filter(Number.isFinite))) + " to " + num(Math.max(...loss.filter(Number.isFinite))));
  }
  curve.addEventListener("click", (ev) => {
    const r = curve.getBoundingClientRect();
    const t = (ev.clientX - r.left - PADL) / (r.width - PADL - PADR);
    go(Math.round(t * (S - 1)));
  });

  // --- the decision boundary -------------------------------------------------------------------
  const bcanvas = $("boundary");
  const cells = document.createElement("canvas");
  function drawBoundary() {
    if (!B) { $("boundary-box").hidden = true; return; }
    const { ctx, w, h } = prepare(bcanvas);
    const n = B.n;
    cells.width = n; cells.height = n;
    const cctx = cells.getContext("2d");
    const img = cctx.createImageData(n, n);
    const off = state.k * n * n;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      const s = scores[off + j * n + i];
      let c;
      if (B.classes > 2) {
        const hex = PALETTE[Math.max(0, Math.round(s)) % PALETTE.length];
        c = tint([1, 3, 5].map((a) => parseInt(hex.slice(a, a + 2), 16)), 0.35);
      } else {
        c = Number.isFinite(s) ? tint(s > 0 ? POS : NEG, 0.2 + 0.4 * Math.min(1, Math.abs(s))) : [200, 200, 200];
      }
      const at = ((n - 1 - j) * n + i) * 4; // the grid's first row is the bottom one
      img.data[at] = c[0]; img.data[at + 1] = c[1]; img.data[at + 2] = c[2]; img.data[at + 3] = 255;
    }
    cctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(cells, 0, 0, w, h);
    const X = (x) => ((x - B.x0) / (B.x1 - B.x0)) * w, Y = (y) => h - ((y - B.y0) / (B.y1 - B.y0)) * h;
    B.points.forEach(([x, y], i) => {
      const lab = B.labels.length ? B.labels[i] : 0;
      ctx.beginPath();
      ctx.arc(X(x), Y(y), 4, 0, 2 * Math.PI);
      ctx.fillStyle = B.classes > 2 ? PALETTE[Math.round(lab) % PALETTE.length] : lab > 0 ? rgb(POS) : rgb(NEG);
      ctx.fill();
      ctx.lineWidth = 1; ctx.strokeStyle = "#111"; ctx.stroke();
    });
    $("boundary-note").textContent = B.classes > 2 ? "colour: the class with the largest output" :
      "colour: the sign of the model's output (blue positive), deeper where |output| is larger; dots: the data";
  }

  // --- the gradients as a heat map --------------------------------------------------------------
  const heat = $("heat");
  const rows = R.rows;
  const widest = Math.max(1, ...rows.map((r) => r[1].length));
  let cellW = 10, cellH = 10, left = 0;
  function drawHeat() {
    const w = heat.getBoundingClientRect().width;
    left = Math.min(150, Math.max(...rows.map((r) => r[0].length), 4) * 6.5 + 8);
    cellW = Math.max(2, Math.min(22, (w - left - 4) / widest));
    cellH = Math.max(rows.length > 60 ? 3 : 10, Math.min(18, 260 / rows.length));
    heat.style.height = Math.max(60, rows.length * cellH + 4) + "px";
    const again = prepare(heat);
    const c = again.ctx;
    const off = state.k * P;
    // one colour scale for the whole run (gradients that shrink as training goes on show it),
    // or this step's own (its pattern, however small)
    const perStep = $("heat-scale").value === "step";
    let scale = 0;
    if (perStep) { for (let i = 0; i < P; i++) if (Number.isFinite(pgrad[off + i])) scale = Math.max(scale, Math.abs(pgrad[off + i])); }
    else scale = runScale;
    c.font = Math.min(11, cellH) + "px ui-monospace, Menlo, Consolas, monospace";
    c.textBaseline = "middle";
    rows.forEach(([label, idx], r) => {
      if (cellH >= 7) { c.fillStyle = "#444"; c.fillText(label.length > 22 ? "…" + label.slice(-21) : label || "(parameters)", 2, r * cellH + cellH / 2 + 1); }
      idx.forEach((p, j) => {
        const g = pgrad[off + p];
        c.fillStyle = !Number.isFinite(g) ? "#bbb" : g === 0 || scale === 0 ? "#fff" : rgb(tint(g > 0 ? POS : NEG, 0.1 + 0.85 * Math.sqrt(Math.abs(g) / scale)));
        c.fillRect(left + j * cellW, r * cellH + 1, cellW - (cellW > 4 ? 1 : 0), cellH - (cellH > 4 ? 1 : 0));
        if (p === state.param) { c.strokeStyle = "#e08000"; c.lineWidth = 2; c.strokeRect(left + j * cellW, r * cellH + 1, cellW - 1, cellH - 1); }
      });
    });
    $("heat-note").textContent = "One row per " + (rows.length > 1 ? "group of parameters (a neuron)" : "model") +
      ", the bias last; the colour scale is " + (perStep ? "this step's" : "the whole run's") + ". Hover for numbers, click to follow one.";
    colourBar(scale);
  }
  let runScale = 0; // the largest |grad| of any parameter at any step
  for (let i = 0; i < pgrad.length; i++) if (Number.isFinite(pgrad[i])) runScale = Math.max(runScale, Math.abs(pgrad[i]));
  // the key: from -scale (red) through 0 (white) to +scale (blue), as the cells are coloured
  function colourBar(scale) {
    const bar = $("heat-bar");
    bar.dataset.scale = String(scale);
    const { ctx: c, w, h } = prepare(bar);
    const x0 = 48, x1 = w - 48, y = 2, hh = 12;
    for (let x = x0; x < x1; x++) {
      const g = ((x - x0) / (x1 - x0)) * 2 - 1; // -1 .. 1
      c.fillStyle = g === 0 ? "#fff" : rgb(tint(g > 0 ? POS : NEG, 0.1 + 0.85 * Math.sqrt(Math.abs(g))));
      c.fillRect(x, y, 1, hh);
    }
    c.strokeStyle = "#999"; c.strokeRect(x0 + 0.5, y + 0.5, x1 - x0 - 1, hh - 1);
    c.fillStyle = "#333"; c.font = "11px ui-monospace, Menlo, Consolas, monospace"; c.textBaseline = "middle";
    c.textAlign = "right"; c.fillText(num(-scale), x0 - 4, y + hh / 2);
    c.textAlign = "left"; c.fillText(num(scale), x1 + 4, y + hh / 2);
    c.textAlign = "center"; c.fillText("0", (x0 + x1) / 2, y + hh + 8);
  }
  $("heat-scale").addEventListener("change", () => render());
  function paramAt(ev) {
    const r = heat.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    const row = Math.floor((y - 1) / cellH), col = Math.floor((x - left) / cellW);
    if (row < 0 || row >= rows.length || col < 0 || x < left) return -1;
    const idx = rows[row][1];
    return col < idx.length ? idx[col] : -1;
  }
  const tip = $("tip");
  let hovered = -1; // the parameter under the mouse: its tooltip follows the step
  function tipText() {
    if (hovered < 0) { tip.hidden = true; return; }
    tip.textContent = names[hovered] + "\ngrad " + num(pgrad[state.k * P + hovered]) + "\ndata " + num(pdata[state.k * P + hovered]);
    tip.dataset.step = String(steps[state.k]);
    tip.hidden = false;
  }
  heat.addEventListener("mousemove", (ev) => {
    hovered = paramAt(ev);
    tip.style.left = ev.clientX + 14 + "px"; tip.style.top = ev.clientY + 10 + "px";
    tipText();
  });
  heat.addEventListener("mouseleave", () => { hovered = -1; tipText(); });
  heat.addEventListener("click", (ev) => { const p = paramAt(ev); if (p >= 0) { state.param = p; render(); } });

  // --- the numbers at this step ------------------------------------------------------------------
  function readout() {
    const box = $("readout");
    box.replaceChildren();
    const k = state.k;
    box.dataset.step = String(steps[k]);
    box.append(el("h2", {}, "Step " + steps[k] + " (snapshot " + (k + 1) + " of " + S + ")"));
    const t = el("table", {});
    t.append(el("tr", {}, el("td", {}, "loss"), el("td", { class: "n" }, numEl(loss[k], "r-loss"))));
    for (const [key, v] of metrics) t.append(el("tr", {}, el("td", {}, key), el("td", { class: "n" }, numEl(v[k], "r-" + key))));
    let sq = 0;
    for (let i = 0; i < P; i++) sq += pgrad[k * P + i] ** 2;
    t.append(el("tr", {}, el("td", {}, "gradient norm"), el("td", { class: "n" }, numEl(Math.sqrt(sq), "r-norm"))));
    box.append(t);
    const order = Array.from({ length: P }, (_, i) => i).sort((a, b) => Math.abs(pgrad[k * P + b]) - Math.abs(pgrad[k * P + a]) || a - b);
    box.append(el("h2", {}, "Largest gradients"));
    const top = el("table", { id: "largest" });
    for (const p of order.slice(0, 6)) top.append(el("tr", {}, el("td", { class: "mono" }, names[p]), el("td", { class: "n" }, "grad ", numEl(pgrad[k * P + p])), el("td", { class: "n" }, "data ", numEl(pdata[k * P + p]))));
    box.append(top);
    if (state.param >= 0) {
      const p = state.param;
      box.append(el("h2", {}, "Following ", el("span", { class: "mono", id: "r-param" }, names[p])),
        el("table", {}, el("tr", {}, el("td", {}, "data"), el("td", { class: "n" }, numEl(pdata[k * P + p], "r-param-data"))),
          el("tr", {}, el("td", {}, "grad"), el("td", { class: "n" }, numEl(pgrad[k * P + p], "r-param-grad")))));
      const spark = el("canvas", { "aria-label": "its gradient at every step" });
      box.append(spark, el("p", { class: "muted" }, "its gradient at every step"));
      const { ctx, w, h } = prepare(spark);
      let lo = 0, hi = 0;
      for (let i = 0; i < S; i++) { const g = pgrad[i * P + p]; if (Number.isFinite(g)) { lo = Math.min(lo, g); hi = Math.max(hi, g); } }
      if (hi === lo) hi = lo + 1;
      const X = (i) => (S > 1 ? (i / (S - 1)) * (w - 4) + 2 : w / 2), Y = (g) => h - 2 - ((g - lo) / (hi - lo)) * (h - 4);
      ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(w, Y(0)); ctx.stroke();
      ctx.strokeStyle = "#3a7dc0"; ctx.beginPath();
      for (let i = 0; i < S; i++) { const g = pgrad[i * P + p]; i ? ctx.lineTo(X(i), Y(g)) : ctx.moveTo(X(i), Y(g)); }
      ctx.stroke();
      ctx.fillStyle = "#e08000"; ctx.beginPath(); ctx.arc(X(k), Y(pgrad[k * P + p]), 3, 0, 7); ctx.fill();
    }
  }

  // --- stepping ------------------------------------------------------------------------------
  const scrub = $("scrub");
  scrub.max = String(S - 1);
  function go(k) {
    state.k = Math.max(0, Math.min(S - 1, k));
    render();
  }
  function render() {
    scrub.value = String(state.k);
    $("step-label").textContent = "step " + steps[state.k] + " · " + (state.k + 1) + "/" + S;
    drawCurve(); drawBoundary(); drawHeat(); readout(); tipText();
  }
  function play() {
    if (state.playing) { clearInterval(state.playing); state.playing = null; }
    else {
      if (state.k === S - 1) state.k = 0;
      state.playing = setInterval(() => { if (state.k >= S - 1) play(); else go(state.k + 1); }, 90);
    }
    $("play").setAttribute("aria-pressed", state.playing ? "true" : "false");
    $("play").textContent = state.playing ? "Pause" : "Play";
  }
  scrub.addEventListener("input", () => go(Number(scrub.value)));
  $("first").addEventListener("click", () => go(0));
  $("back").addEventListener("click", () => go(state.k - 1));
  $("next").addEventListener("click", () => go(state.k + 1));
  $("last").addEventListener("click", () => go(S - 1));
  $("play").addEventListener("click", play);
  document.addEventListener("keydown", (ev) => {
    if (ev.target === scrub || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = { ArrowRight: () => go(state.k + 1), ArrowLeft: () => go(state.k - 1), Home: () => go(0), End: () => go(S - 1), " ": play };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });
  window.addEventListener("resize", render);

  $("title").textContent = R.title;
  $("model").textContent = (R.model || P + " parameters") + " · " + S + " snapshots";
  render();
  window.gradwalk = {
    snapshots: S,
    // where a parameter's cell is drawn, in page pixels (for scripts and tests)
    cell(name) {
      const p = names.indexOf(name);
      if (p < 0) return null;
      const r = heat.getBoundingClientRect();
      for (let row = 0; row < rows.length; row++) {
        const j = rows[row][1].indexOf(p);
        if (j >= 0) return { x: r.left + left + (j + 0.5) * cellW, y: r.top + row * cellH + cellH / 2 + 1 };
      }
      return null;
    },
    readyMs: performance.now(),
  };
  document.documentElement.dataset.ready = "true";
})();
