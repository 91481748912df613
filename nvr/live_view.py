"""A camera's latest processed frame and its JPEGs, drawn once for every viewer alike."""

from __future__ import annotations

import numpy as np

from nvr.processing import ProcessedFrame
from nvr.render.overlays import OverlayFlags, Overlays, ZoneOutline, render_jpeg
from nvr.render.shared import SharedRenders


class LiveView:
    """What latest.jpg and the MJPEG stream show: ``latest`` with the overlays a viewer asks
    for. Viewers asking for the same frame, height and overlays share one encode;
    ``viewers`` counts the open MJPEG streams."""

    def __init__(self, width: int, height: int, motion_mask: np.ndarray | None,
                 zone_outlines: tuple[ZoneOutline, ...]) -> None:
        self.width, self.height = width, height
        self.motion_mask, self.zone_outlines = motion_mask, zone_outlines
        self.latest: ProcessedFrame | None = None
        self.renders = SharedRenders()
        self.viewers = 0

    def publish(self, processed: ProcessedFrame) -> None:
        """Show ``processed`` from now on; the frame it replaces goes back to its pool."""
        previous, self.latest = self.latest, processed
        if previous is not None:
            previous.frame.release()

    def overlays(self, processed: ProcessedFrame, flags: OverlayFlags) -> Overlays:
        """What to draw on ``processed`` for a viewer who asked for ``flags``."""
        zones: tuple[ZoneOutline, ...] = ()
        if flags.zones:
            zones = tuple(
                ZoneOutline(zone.name, zone.points, zone.color, zone.name in processed.active_zones)
                for zone in self.zone_outlines
            )
        return Overlays(
            objects=processed.objects if flags.bbox else (),
            regions=processed.regions if flags.regions else (),
            zones=zones,
            mask=self.motion_mask if flags.mask else None,
            motion=processed.motion if flags.motion else (),
            timestamp=processed.frame.time if flags.timestamp else None,
        )

    async def jpeg(self, out_height: int | None, flags: OverlayFlags) -> bytes | None:
        """The latest frame as JPEG (shared by every viewer asking the same), or None yet."""
        processed = self.latest
        if processed is None:
            return None
        frame = processed.frame.retain()
        try:
            overlays = self.overlays(processed, flags)
            return await self.renders.get(
                frame.index, (out_height, flags),
                lambda: render_jpeg(frame.buffer, self.width, self.height, overlays, out_height,
                                    full_range=frame.full_range),
            )
        finally:
            frame.release()
