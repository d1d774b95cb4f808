"""Live updates: socket group names, the channel layer for the embedded default, and publishing the core's changes."""
