"""MQTT: Frigate 0.8's topics (counts, snapshots, events, stats, switches) for Home Assistant
and users' automations (docs/compatibility.md#mqtt)."""
