// The matrix page, enhanced: date and known-at sliders that replay the matrix in place through
// GET /v1/stances (one request, one query per matrix), a cell's details on hover and on focus,
// arrow-key moves between cells, and Escape to hide the details. Without this script the form
// and the links do the same by loading pages, and the browser shows the details as tooltips.
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
  const tip = document.getElementById("cell-tip");
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

  // Cells: rows carry the actor, header cells the topic.
  const topics = Array.from(table.querySelectorAll("thead th[data-topic]")).map((th) => ({
    id: th.dataset.topic,
    title: th.textContent.trim(),
  }));
  const grid = [];
  const cells = [];
  for (const tr of table.querySelectorAll("tbody tr[data-actor]")) {
    const name = tr.querySelector("th.actor a").textContent.trim();
    const row = [];
    tr.querySelectorAll("td").forEach((td, column) => {
      const topic = topics[column];
      const cell = {
        td,
        link: td.querySelector("a"),
        actor: tr.dataset.actor,
        topic: topic.id,
        subject: `${name} on ${topic.title}`,
      };
      cells.push(cell);
      row.push(cell.link);
    });
    grid.push(row);
  }
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

  // ----- a cell's text, as service/web/matrix.py writes it
  function cut(text, limit) {
    if (text.length <= limit) return text;
    let head = text.slice(0, limit - 1);
    const space = head.lastIndexOf(" ");
    if (space > Math.floor(limit / 2)) head = head.slice(0, space);
    return head.replace(/[ ,;:.]+$/, "") + "…";
  }

  function tipText(subject, found, look) {
    let stance = look.label;
    if (found.previous_stance) {
      const previous = (looks.get(found.previous_stance) || {}).label || found.previous_stance;
      stance += found.flip ? ` · flip from ${previous}` : ` · was ${previous}`;
    }
    stance += ` · since ${Stance.day(found.since)}`;
    const statement = found.statement;
    const source = statement.source || {};
    let origin = `${statement.kind.replaceAll("_", " ")} · ${source.title || source.url || "no source title"}`;
    if (source.publisher) origin += `, ${source.publisher}`;
    return [subject, stance, `“${cut(statement.quote, tipChars)}”`, origin].join("\n");
  }

  function fillCell(cell, found) {
    const look = (found && looks.get(found.stance)) || none;
    const flip = Boolean(found && found.flip && look !== none);
    cell.td.className = look.css + (flip ? " flip" : "");
    cell.link.textContent = look.symbol + (flip ? ` ${flipSymbol}` : "");
    cell.link.setAttribute("aria-label", look.label + (flip ? ", flip" : ""));
    const text = look === none ? `${cell.subject}\n${none.label}` : tipText(cell.subject, found, look);
    if (cell.link.hasAttribute("title")) cell.link.title = text;
    else cell.link.dataset.tip = text;
  }

  function relink() {
    const params = { as_of: state.asOf, known_at: state.knownAt };
    for (const cell of cells) {
      const path = `/actors/${encodeURIComponent(cell.actor)}/${encodeURIComponent(cell.topic)}`;
      cell.link.href = Stance.pageUrl(path, params);
    }
    for (const link of table.querySelectorAll("th.actor a")) {
      link.href = Stance.pageUrl(new URL(link.href).pathname, params);
    }
    for (const item of states) {
      const link = item.querySelector("a");
      link.href = Stance.pageUrl("/", { as_of: state.asOf, known_at: item.dataset.knownAt });
      if (item.dataset.knownAt === state.knownAt) link.setAttribute("aria-current", "true");
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
    for (const cell of cells) {
      const item = byPair.get(`${cell.actor}\u0000${cell.topic}`);
      if (item && looks.has(item.stance)) shown += 1;
      fillCell(cell, item);
    }
    count.textContent = String(shown);
    table.dataset.asOf = state.asOf;
    table.dataset.knownAt = state.knownAt;
    summary();
    relink();
    const shownFor = tipFor;
    hideTip();
    if (shownFor) showTip(shownFor); // the details of the cell under the pointer, as of now
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

  // ----- a cell's details: one tooltip for the whole matrix, placed in the viewport
  let tipFor = null;

  function showTip(link) {
    const text = link.getAttribute("title") || link.dataset.tip || "";
    if (link.hasAttribute("title")) {
      link.dataset.tip = text; // the browser's own tooltip would cover ours
      link.removeAttribute("title");
    }
    const [head, stance, quote, origin] = text.split("\n");
    tip.replaceChildren(
      Stance.element("span", "tip-head", head),
      Stance.element("span", "tip-stance", stance),
    );
    if (quote) tip.append(Stance.element("span", "tip-quote", quote));
    if (origin) tip.append(Stance.element("span", "tip-source", origin));
    tip.hidden = false;
    tipFor = link;
    placeTip();
  }

  function placeTip() {
    if (!tipFor) return;
    const box = tipFor.getBoundingClientRect();
    const below = window.innerHeight - box.bottom >= tip.offsetHeight + 8 || box.top < tip.offsetHeight + 8;
    const top = below ? box.bottom + 4 : box.top - tip.offsetHeight - 4;
    const left = Math.min(Math.max(4, box.left), window.innerWidth - tip.offsetWidth - 4);
    tip.style.top = `${Math.max(4, top)}px`;
    tip.style.left = `${Math.max(4, left)}px`;
  }

  function hideTip() {
    if (tipFor && tipFor.dataset.tip) {
      tipFor.title = tipFor.dataset.tip; // its description again, for assistive technology
      delete tipFor.dataset.tip;
    }
    tipFor = null;
    tip.hidden = true;
  }

  const cellLink = (event) => (event.target.closest ? event.target.closest("td > a") : null);
  table.addEventListener("mouseover", (event) => {
    const link = cellLink(event);
    if (link && link !== tipFor) {
      hideTip();
      showTip(link);
    }
  });
  table.addEventListener("mouseleave", hideTip);
  table.addEventListener("focusin", (event) => {
    const link = cellLink(event);
    if (link) {
      hideTip();
      showTip(link);
    }
  });
  table.addEventListener("focusout", hideTip);
  const wrap = document.getElementById("matrix-wrap");
  if (wrap) wrap.addEventListener("scroll", placeTip, { passive: true });
  window.addEventListener("scroll", placeTip, { passive: true });

  // ----- keyboard: one tab stop for the whole matrix, arrows move between cells
  let active = grid.length && grid[0].length ? grid[0][0] : null;
  for (const cell of cells) cell.link.tabIndex = -1;
  if (active) active.tabIndex = 0;
  const where = new Map();
  grid.forEach((row, r) => row.forEach((link, c) => where.set(link, [r, c])));

  table.addEventListener("focusin", (event) => {
    const link = cellLink(event);
    if (link && link !== active) {
      if (active) active.tabIndex = -1;
      active = link;
      active.tabIndex = 0;
    }
  });

  table.addEventListener("keydown", (event) => {
    const link = cellLink(event);
    if (!link) return;
    if (event.key === "Escape") {
      hideTip();
      return;
    }
    const at = where.get(link);
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
    const next = grid[r][Math.min(c, grid[r].length - 1)];
    active.tabIndex = -1;
    active = next;
    active.tabIndex = 0;
    active.focus();
  });
})();
