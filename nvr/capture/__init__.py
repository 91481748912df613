"""Frames in: the detect-role ffmpeg of each camera, supervised, read into reusable buffers."""
