"""Offline video: PyAV reading and writing with sound, optical flow, temporal consistency, key frames."""
