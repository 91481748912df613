// Events, newest first: the /api/events filters, 50 at a time with more loaded on scrolling
// to the end, and new events added at the top as they end; a row opens the event's snapshot
// and clip.
import { el, every, formatDuration, formatTime, getJSON, percent, query } from "./api.js";

const PAGE = 50;
const NEW_EVENTS_MS = 5000;

// Local midnight at the start of a YYYY-MM-DD day, and the next one (days may be 23 or 25 h).
function midnight(value, days = 0) {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day + days).getTime() / 1000;
}
const dayStart = (value) => (value ? midnight(value) : "");
const dayEnd = (value) => (value ? midnight(value, 1) : "");

export async function render(view, argument) {
  // The choices: what the cameras are set up for and what past events have (a camera or
  // label no longer configured included).
  const [config, summary] = await Promise.all([getJSON("/api/config"), getJSON("/api/events/summary")]);
  const configured = Object.values(config.cameras);
  const sorted = (values) => [...new Set(values)].sort();
  const cameras = sorted([...Object.keys(config.cameras), ...summary.map((group) => group.camera)]);
  const labels = sorted([...configured.flatMap((camera) => camera.objects.track),
                         ...summary.map((group) => group.label)]);
  const zones = sorted([...configured.flatMap((camera) => Object.keys(camera.zones)),
                        ...summary.flatMap((group) => group.zones)]);
  const chosen = Object.fromEntries(new URLSearchParams(argument));

  const select = (name, values) => el("label", {}, name.replace("_", " "),
    el("select", { name }, el("option", { value: "" }, "any"),
      values.map((value) => el("option", { value, selected: chosen[name] === value }, value))));
  const date = (name) => el("label", {}, name, el("input", { type: "date", name, value: chosen[name] || "" }));
  const check = (name, label) => el("label", {}, label,
    el("select", { name }, el("option", { value: "" }, "any"),
      el("option", { value: "1", selected: chosen[name] === "1" }, "yes"),
      el("option", { value: "0", selected: chosen[name] === "0" }, "no")));
  const form = el("form", { class: "filters" }, select("camera", cameras), select("label", labels),
    select("zone", zones), date("after"), date("before"), check("has_clip", "clip"),
    check("has_snapshot", "snapshot"));
  form.addEventListener("change", () => {
    const values = Object.fromEntries([...new FormData(form)].filter(([, value]) => value !== ""));
    location.hash = `#/events?${query(values)}`;
  });

  const rows = el("tbody");
  const status = el("p", { class: "note status" }, "");
  const more = el("button", { type: "button", class: "more", hidden: true }, "Load more");
  view.replaceChildren(el("h1", {}, "Events"), form,
    el("table", { class: "events" }, rows), status, more);

  const filters = {
    camera: chosen.camera, label: chosen.label, zone: chosen.zone,
    has_clip: chosen.has_clip, has_snapshot: chosen.has_snapshot,
    after: dayStart(chosen.after), include_thumbnails: 1, limit: PAGE,
  };
  let before = dayEnd(chosen.before);
  const shown = new Set();  // "before" is inclusive: the next page starts with the last event
  let loading = false;
  let done = false;

  function showCount() {
    const count = rows.children.length;
    status.textContent = count
      ? `${count} event${count === 1 ? "" : "s"}${done ? "" : " so far"}`
      : "No events match these filters.";
  }

  // Adds the events not shown yet where their start time puts them (newest first); returns
  // how many. Unless ``paging``, events older than the oldest shown wait for their page
  // (while there are more pages).
  function add(page, paging) {
    let added = 0;
    for (const event of page.filter((event) => !shown.has(event.id))) {
      const later = [...rows.children].find((tr) => Number(tr.dataset.start) < event.start_time);
      if (!later && !paging && !done && rows.children.length) continue;
      shown.add(event.id);
      rows.insertBefore(row(event), later ?? null);
      added += 1;
    }
    return added;
  }

  async function loadMore() {
    if (loading || done) return;
    loading = true;
    more.hidden = true;
    status.textContent = "Loading…";
    try {
      const page = await getJSON(`/api/events?${query({ ...filters, before })}`);
      const added = add(page, true);
      // A short page is the last; so is a full one with nothing new (50 events sharing a start).
      done = page.length < PAGE || added === 0;
      if (page.length) before = page[page.length - 1].start_time;
      showCount();
      more.hidden = done;
    } catch (error) {
      status.textContent = `Cannot load events: ${error.message}`;
      more.hidden = false;
    } finally {
      loading = false;
    }
  }

  more.addEventListener("click", loadMore);
  // Infinite scroll: the end of the list coming into view loads the next page.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadMore();
  });
  await loadMore();
  observer.observe(status);
  // Events that end from now on appear where they belong, usually at the top (unless the
  // dates chosen are past): the newest page is read again and what is new is added.
  const stopNew = chosen.before ? () => {} : every(NEW_EVENTS_MS, async () => {
    if (add(await getJSON(`/api/events?${query(filters)}`), false)) showCount();
  }, { first: NEW_EVENTS_MS });  // the first page was just read
  return () => { observer.disconnect(); stopNew(); };
}

function row(event) {
  const thumbnail = event.thumbnail
    ? el("img", { src: `data:image/jpeg;base64,${event.thumbnail}`, alt: event.label })
    : el("span", { class: "note" }, "—");
  const open = () => { location.hash = `#/event/${encodeURIComponent(event.id)}`; };
  return el("tr", { class: "event", dataset: { id: event.id, start: event.start_time }, onclick: open },
    el("td", {}, thumbnail),
    el("td", {}, el("strong", {}, event.label), el("br"), el("span", { class: "note" }, event.camera)),
    el("td", {}, formatTime(event.start_time), el("br"),
      el("span", { class: "note" }, formatDuration(event.end_time - event.start_time))),
    el("td", { class: "wide" }, percent(event.top_score)),
    el("td", { class: "wide" }, event.zones.map((zone) => el("span", { class: "badge" }, zone))),
    el("td", {}, event.has_clip ? el("span", { class: "badge" }, "clip") : null,
      event.has_snapshot ? el("span", { class: "badge" }, "snapshot") : null));
}
