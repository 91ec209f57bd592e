// The matrix page, enhanced: date and known-at sliders that replay the matrix in place through
// GET /v1/stances (one request, one query per matrix), arrow-key moves between cells, and
// Escape to hide a cell's details. Without this script the form and links do the same by
// reloading the page.
"use strict";

(() => {
  const table = document.getElementById("matrix");
  const form = document.getElementById("replay");
  if (!table || !form) return;

  const asOfInput = document.getElementById("as_of");
  const knownAtInput = document.getElementById("known_at");
  const asOfControl = document.getElementById("as-of-control");
  const asOfSlider = document.getElementById("as-of-slider");
  const asOfOutput = document.getElementById("as-of-output");
  const knownControl = document.getElementById("known-at-control");
  const knownSlider = document.getElementById("known-at-slider");
  const knownOutput = document.getElementById("known-at-output");
  const when = document.getElementById("matrix-when");
  const count = document.getElementById("matrix-count");
  const states = Array.from(document.querySelectorAll("#record-states li[data-state]"));
  const tipChars = Number(table.dataset.tipChars) || 240;
  const DAY_MS = 86400000;

  // The scale, from the legend the server rendered: it stays the one place it is defined.
  const looks = new Map();
  let flipSymbol = "⇄";
  for (const item of document.querySelectorAll("#legend li")) {
    if (item.dataset.flip) flipSymbol = item.dataset.flip;
    else looks.set(item.dataset.stance, item.dataset);
  }
  const none = looks.get("");

  const cells = Array.from(table.querySelectorAll("td.cell"));
  const state = { asOf: table.dataset.asOf || "", knownAt: table.dataset.knownAt || "" };

  // ----- the date slider: day numbers from data-start, the last step is "now"
  const start = asOfControl ? Date.parse(asOfControl.dataset.start + "T00:00:00Z") : 0;
  const days = asOfControl ? Number(asOfControl.dataset.days) : 0;

  function sliderDay(value) {
    return Number(value) > days ? "" : Stance.isoDay(new Date(start + Number(value) * DAY_MS));
  }

  function sliderValue(isoDay) {
    if (!isoDay) return days + 1;
    const offset = Math.round((Date.parse(isoDay.slice(0, 10) + "T00:00:00Z") - start) / DAY_MS);
    return Number.isNaN(offset) ? days + 1 : Math.min(Math.max(offset, 0), days + 1);
  }

  function showAsOf() {
    if (!asOfSlider) return;
    const chosen = sliderDay(asOfSlider.value);
    const text = chosen ? `as of ${Stance.day(chosen + "T00:00:00Z")}` : "now";
    asOfOutput.textContent = text;
    asOfSlider.setAttribute("aria-valuetext", text);
  }

  // ----- the known-at slider: the record before each revision, then now
  function showKnownAt() {
    if (!knownSlider) return;
    const chosen = states[Number(knownSlider.value)];
    const text = chosen ? chosen.dataset.label : "";
    knownOutput.textContent = text;
    knownSlider.setAttribute("aria-valuetext", text);
  }

  function summary() {
    when.textContent = "";
    if (state.asOf) {
      const text = state.asOf.length === 10 ? Stance.day(state.asOf + "T00:00:00Z") : Stance.instant(state.asOf);
      when.append("as of ", Stance.timeElement(state.asOf, text));
    } else {
      when.append("now");
    }
    if (state.knownAt) {
      when.append(", as the record stood at ", Stance.timeElement(state.knownAt, Stance.instant(state.knownAt)));
    }
  }

  // ----- cells
  function fillTip(tip, found) {
    const head = tip.querySelector(".tip-head");
    tip.replaceChildren(head);
    const look = found ? looks.get(found.stance) : null;
    if (!found || !look) {
      tip.append(Stance.element("span", "tip-stance", none.label));
      return;
    }
    const line = Stance.element("span", "tip-stance", look.label);
    const previous = found.previous_stance ? (looks.get(found.previous_stance) || {}).label || found.previous_stance : null;
    if (found.flip) line.append(` · flip from ${previous}`);
    else if (previous) line.append(` · was ${previous}`);
    line.append(" · since ", Stance.timeElement(found.since, Stance.day(found.since)));
    const statement = found.statement;
    const source = statement.source || {};
    let quote = statement.quote;
    if (quote.length > tipChars) quote = cut(quote, tipChars);
    let origin = `${statement.kind.replaceAll("_", " ")} · ${source.title || source.url || "no source title"}`;
    if (source.publisher) origin += `, ${source.publisher}`;
    tip.append(line, Stance.element("q", "tip-quote", quote), Stance.element("span", "tip-source", origin));
  }

  // The server's `cut`: at a word boundary, with an ellipsis.
  function cut(text, limit) {
    let head = text.slice(0, limit - 1);
    const space = head.lastIndexOf(" ");
    if (space > limit / 2) head = head.slice(0, space);
    return head.replace(/[ ,;:.]+$/, "") + "…";
  }

  function fillCell(td, found) {
    const look = (found && looks.get(found.stance)) || none;
    const flip = Boolean(found && found.flip && look !== none);
    const end = td.classList.contains("tip-end");
    td.className = `cell ${look.css}${flip ? " flip" : ""}${end ? " tip-end" : ""}`;
    const link = td.querySelector(".cell-link");
    link.querySelector(".sym").textContent = look.symbol + (flip ? ` ${flipSymbol}` : "");
    link.querySelector(".sr-only").textContent = look.label + (flip ? ", flip" : "");
    fillTip(td.querySelector(".tip"), look === none ? null : found);
  }

  function relink() {
    const params = { as_of: state.asOf, known_at: state.knownAt };
    for (const link of table.querySelectorAll("a.cell-link, th.actor a")) {
      link.href = Stance.pageUrl(new URL(link.href).pathname, params);
    }
    for (const item of states) {
      const link = item.querySelector("a");
      link.href = Stance.pageUrl("/", { as_of: state.asOf, known_at: item.dataset.knownAt });
      const current = item.dataset.knownAt === state.knownAt;
      if (current) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    }
  }

  // ----- replaying through the API
  let inFlight = null;

  async function fetchMatrix(signal) {
    const found = [];
    let cursor = null;
    do {
      const url = Stance.pageUrl("/v1/stances", {
        as_of: state.asOf, known_at: state.knownAt, limit: "10000", cursor,
      });
      const response = await fetch(url, { signal, headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = await response.json();
      found.push(...page.stances);
      cursor = page.next_cursor;
    } while (cursor);
    return found;
  }

  async function replay() {
    const pageUrl = Stance.pageUrl("/", { as_of: state.asOf, known_at: state.knownAt });
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    table.setAttribute("aria-busy", "true");
    let found;
    try {
      found = await fetchMatrix(controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      // The API refused (a date it cannot read, reads that need a key): let the page say why.
      window.location.assign(pageUrl);
      return;
    }
    if (inFlight !== controller) return;
    inFlight = null;
    const byPair = new Map(found.map((item) => [`${item.actor}\u0000${item.topic}`, item]));
    let shown = 0;
    for (const td of cells) {
      const item = byPair.get(`${td.dataset.actor}\u0000${td.dataset.topic}`);
      if (item && looks.has(item.stance)) shown += 1;
      fillCell(td, item);
    }
    count.textContent = String(shown);
    table.dataset.asOf = state.asOf;
    table.dataset.knownAt = state.knownAt;
    summary();
    relink();
    table.removeAttribute("aria-busy");
    window.history.replaceState(null, "", pageUrl);
  }

  let timer = null;
  function replaySoon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(replay, 120);
  }

  if (asOfControl) {
    asOfControl.hidden = false;
    asOfSlider.addEventListener("input", () => {
      state.asOf = sliderDay(asOfSlider.value);
      asOfInput.value = state.asOf;
      showAsOf();
      replaySoon();
    });
    showAsOf();
  }
  if (knownControl && states.length) {
    knownControl.hidden = false;
    knownSlider.addEventListener("input", () => {
      const chosen = states[Number(knownSlider.value)];
      state.knownAt = chosen ? chosen.dataset.knownAt : "";
      knownAtInput.value = state.knownAt;
      showKnownAt();
      replaySoon();
    });
    showKnownAt();
  }

  function fromFields() {
    state.asOf = asOfInput.value.trim();
    state.knownAt = knownAtInput.value.trim();
    if (asOfSlider) {
      asOfSlider.value = String(sliderValue(state.asOf));
      showAsOf();
    }
    if (knownSlider) {
      const exact = states.findIndex((item) => item.dataset.knownAt === state.knownAt);
      if (exact >= 0) {
        knownSlider.value = String(exact);
        showKnownAt();
      }
    }
  }

  asOfInput.addEventListener("change", () => { fromFields(); replaySoon(); });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    fromFields();
    replay();
  });

  // ----- keyboard: one tab stop for the whole matrix, arrows move between cells
  const rows = Array.from(table.querySelectorAll("tbody tr")).filter((tr) => tr.querySelector("td.cell"));
  const grid = rows.map((tr) => Array.from(tr.querySelectorAll("td.cell .cell-link")));
  let active = grid.length && grid[0].length ? grid[0][0] : null;
  for (const row of grid) for (const link of row) link.tabIndex = -1;
  if (active) active.tabIndex = 0;

  function position(link) {
    for (let r = 0; r < grid.length; r += 1) {
      const c = grid[r].indexOf(link);
      if (c >= 0) return [r, c];
    }
    return null;
  }

  function activate(link) {
    if (active) active.tabIndex = -1;
    active = link;
    active.tabIndex = 0;
    active.focus();
  }

  table.addEventListener("focusin", (event) => {
    const link = event.target.closest && event.target.closest(".cell-link");
    if (link && link !== active) {
      if (active) active.tabIndex = -1;
      active = link;
      active.tabIndex = 0;
    }
  });

  table.addEventListener("keydown", (event) => {
    const link = event.target.closest && event.target.closest(".cell-link");
    if (!link) return;
    if (event.key === "Escape") {
      link.closest("td").classList.add("tip-hidden");
      return;
    }
    const at = position(link);
    if (!at) return;
    let [r, c] = at;
    switch (event.key) {
      case "ArrowRight": c = Math.min(c + 1, grid[r].length - 1); break;
      case "ArrowLeft": c = Math.max(c - 1, 0); break;
      case "ArrowDown": r = Math.min(r + 1, grid.length - 1); break;
      case "ArrowUp": r = Math.max(r - 1, 0); break;
      case "Home": if (event.ctrlKey) r = 0; c = 0; break;
      case "End": if (event.ctrlKey) r = grid.length - 1; c = grid[r].length - 1; break;
      default: return;
    }
    event.preventDefault();
    activate(grid[r][Math.min(c, grid[r].length - 1)]);
  });

  // A tip is placed in the viewport (position: fixed), below its cell or above it when there is
  // no room, so the matrix's scrolling box never cuts it off.
  function place(td) {
    const tip = td.querySelector(".tip");
    const box = td.getBoundingClientRect();
    tip.classList.add("placed");
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const room = window.innerHeight - box.bottom;
    const top = room >= height + 8 || box.top < height + 8 ? box.bottom + 4 : box.top - height - 4;
    const left = Math.min(Math.max(4, box.left), window.innerWidth - width - 4);
    tip.style.top = `${Math.max(4, top)}px`;
    tip.style.left = `${Math.max(4, left)}px`;
  }

  for (const td of cells) {
    const show = () => td.classList.remove("tip-hidden");
    td.addEventListener("focusout", show);
    td.addEventListener("mouseleave", show);
    td.addEventListener("mouseenter", () => place(td));
    td.addEventListener("focusin", () => place(td));
  }
  const wrap = document.getElementById("matrix-wrap");
  const unplace = () => {
    for (const tip of table.querySelectorAll(".tip.placed")) tip.classList.remove("placed");
  };
  if (wrap) wrap.addEventListener("scroll", unplace, { passive: true });
  window.addEventListener("scroll", unplace, { passive: true });
})();
