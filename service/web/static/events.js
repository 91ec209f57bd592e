// The recent-events page, live: follows GET /v1/events/stream (server-sent events) from the
// last position the page showed, and puts each new event on top, as the server would render it.
"use strict";

(() => {
  const status = document.getElementById("live-status");
  const rows = document.getElementById("event-rows");
  if (!status || !rows || !window.EventSource) return;

  const labels = JSON.parse(status.dataset.labels || "{}");
  const TEXT_KEYS = ["quote", "reason", "name", "title"];
  const MAX_ROWS = 200;
  let last = Number(status.dataset.after) || 0;

  const text = (data, key) => (typeof data[key] === "string" && data[key] ? data[key] : null);
  const segment = (value) => encodeURIComponent(value);

  function about(data) {
    const cell = Stance.element("td");
    const actor = text(data, "actor_id");
    const topic = text(data, "topic_id");
    if (actor && topic) {
      const link = Stance.element("a", null, `${actor} on ${topic}`);
      link.href = `/actors/${segment(actor)}/${segment(topic)}`;
      cell.append(link);
    } else if (actor) {
      const link = Stance.element("a", null, actor);
      link.href = `/actors/${segment(actor)}`;
      cell.append(link);
    } else if (topic) {
      cell.append(topic);
    }
    const stance = text(data, "stance");
    if (stance) cell.append(" ", Stance.element("span", "stance-word", labels[stance] || stance));
    const words = TEXT_KEYS.map((key) => text(data, key)).find(Boolean);
    if (words) cell.append(" ", Stance.element("span", "text", words));
    return cell;
  }

  function add(event) {
    let item;
    try {
      item = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!item || typeof item.position !== "number" || item.position <= last) return;
    last = item.position;
    const data = item.data && typeof item.data === "object" ? item.data : {};
    const metadata = item.metadata && typeof item.metadata === "object" ? item.metadata : {};
    const row = Stance.element("tr", "fresh");
    row.dataset.position = String(item.position);
    const time = Stance.element("td");
    time.append(Stance.timeElement(item.recorded_at, Stance.instant(item.recorded_at)));
    row.append(
      Stance.element("td", "num", String(item.position)),
      time,
      Stance.element("td", "type", item.type),
      about(data),
      Stance.element("td", "by", text(metadata, "recorded_by") || ""),
    );
    const placeholder = rows.querySelector("tr.placeholder");
    if (placeholder) placeholder.remove();
    rows.prepend(row);
    while (rows.rows.length > MAX_ROWS) rows.deleteRow(-1);
  }

  const stream = new EventSource(`/v1/events/stream?after=${last}`);
  for (const type of (status.dataset.types || "").split(" ").filter(Boolean)) {
    stream.addEventListener(type, add);
  }
  stream.addEventListener("message", add);
  stream.addEventListener("open", () => {
    status.textContent = "Live: new events appear at the top as they are recorded.";
    status.dataset.live = "open";
  });
  stream.addEventListener("error", () => {
    status.textContent = stream.readyState === EventSource.CLOSED
      ? "Live updates stopped (the stream was refused); reload the page to see new events."
      : "Connection lost; reconnecting…";
    status.dataset.live = "error";
  });
})();
