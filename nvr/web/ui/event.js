// One event: its snapshot, its clip in a player that seeks, and what is known of it.
import { el, formatDuration, formatTime, getJSON, percent } from "./api.js";

export async function render(view, argument) {
  const id = decodeURIComponent(argument);
  const event = await getJSON(`/api/events/${encodeURIComponent(id)}`);
  const media = [];
  if (event.has_clip) {
    media.push(el("video", { class: "clip", controls: true, preload: "auto",
                             src: `/clips/${encodeURIComponent(`${event.camera}-${event.id}.mp4`)}` }));
  }
  if (event.has_snapshot) {
    media.push(el("img", { class: "snapshot", alt: `${event.label} snapshot`,
                           src: `/api/events/${encodeURIComponent(event.id)}/snapshot.jpg` }));
  }
  if (!media.length) {
    media.push(el("img", { class: "thumbnail", alt: `${event.label} thumbnail`,
                           src: `/api/events/${encodeURIComponent(event.id)}/thumbnail.jpg` }));
  }
  const fact = (name, value) => [el("dt", {}, name), el("dd", {}, value)];
  view.replaceChildren(
    el("h1", {}, `${event.label} on ${event.camera}`),
    el("div", { class: "detail" }, ...media,
      el("dl", { class: "facts" },
        fact("started", formatTime(event.start_time)),
        fact("duration", formatDuration(event.end_time - event.start_time)),
        fact("top score", percent(event.top_score)),
        fact("zones", event.zones.join(", ") || "none"),
        fact("clip", event.has_clip ? "yes" : "no"),
        fact("snapshot", event.has_snapshot ? "yes" : "no"),
        fact("id", event.id))),
    el("p", {}, el("a", { href: "#/events" }, "← all events")),
  );
}
