// Shared by the dashboard's scripts: dates written as the server writes them, and small DOM
// helpers. Text always goes in through textContent, never as HTML: quotes come from feeds.
"use strict";

const Stance = (() => {
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n) => String(n).padStart(2, "0");

  // "16 May 2022", in UTC, as the server's `day` filter.
  function day(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return "";
    return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  }

  // "16 May 2022, 14:03:22 UTC", as the server's `instant` filter.
  function instant(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return "";
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return `${day(value)}, ${time} UTC`;
  }

  // "YYYY-MM-DD" of a Date, in UTC.
  function isoDay(d) {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function timeElement(value, text) {
    const node = element("time", null, text);
    node.dateTime = value;
    return node;
  }

  // path?query with the empty parameters left out, as the server's `page_url`.
  function pageUrl(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  return { day, instant, isoDay, element, timeElement, pageUrl };
})();
