// What every page shares: reading the API, building elements, formatting, timers.

export async function getJSON(path) {
  const response = await fetch(path);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).message || message; } catch { /* not JSON */ }
    throw new Error(`${path}: ${message}`);
  }
  return response.json();
}

// el("a", {href: "#/"}, "text", child...): attributes starting with "on" are listeners.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  return search.toString();
}

export function formatTime(epoch) {
  return new Date(epoch * 1000).toLocaleString([], {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "in progress";
  const whole = Math.round(seconds);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

export const percent = (score) => `${Math.round(score * 100)}%`;

// Call `step` after `first` ms (default: now) and then every `ms` until the returned function
// is called; a failing step is shown by `onError` and retried at the next tick. A page in a
// hidden tab asks for nothing.
export function every(ms, step, { first = 0, onError = console.warn } = {}) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    try { if (!document.hidden) await step(); } catch (error) { if (!stopped) onError(error); }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, first);
  return () => { stopped = true; clearTimeout(timer); };
}

// Swap an <img> to a new URL once the image has loaded (no flicker, no broken icon).
export function refreshImage(img, url) {
  const next = new Image();
  next.onload = () => { img.src = next.src; };
  next.src = url;
}

export function objectSummary(objects) {
  if (!objects.length) return "nothing tracked";
  const counts = {};
  for (const object of objects) counts[object.label] = (counts[object.label] || 0) + 1;
  return Object.entries(counts).map(([label, count]) => `${label} ×${count}`).join(", ");
}
