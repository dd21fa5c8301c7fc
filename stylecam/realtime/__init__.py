"""Real time: the capture loop, inference backends and the virtual camera (``stylecam`` command)."""
