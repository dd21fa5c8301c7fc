"""The virtual camera output: the stylized feed as a webcam that Zoom, Meet, Teams or OBS can pick.

Through pyvirtualcam (``pip install 'stylecam[virtualcam]'``), which drives OBS Studio's virtual camera on
Windows and macOS (shown to other programs as "OBS Virtual Camera") and a v4l2loopback device on Linux (named
by its ``card_label``; ``sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=stylecam
exclusive_caps=1`` makes one called "stylecam"). Behind the small :class:`VirtualCamera` interface, so the loop
can be tested with a double; :func:`open_virtual_camera` turns each missing piece into one line saying what to
install.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import numpy as np

from stylecam.errors import OutputError

LINUX_HINT = ("load a v4l2loopback device: sudo apt install v4l2loopback-dkms (or your distribution's package), "
              "then sudo modprobe v4l2loopback devices=1 video_nr=10 card_label=stylecam exclusive_caps=1")
WINDOWS_HINT = "install OBS Studio 26 or newer (obsproject.com); its virtual camera is what stylecam drives"
MAC_HINT = ("install OBS Studio 28 or newer (obsproject.com) and start its Virtual Camera once, "
            "so that macOS installs the camera extension")


class VirtualCamera(Protocol):
    """A virtual webcam taking RGB uint8 frames of a fixed size."""

    device: str

    def send(self, frame: np.ndarray) -> None:
        """Show one frame (H×W×3 RGB uint8 at the camera's size)."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


def install_hint(platform: str | None = None) -> str:
    """What to install for a virtual camera on this platform."""
    platform = platform or sys.platform
    if platform.startswith("linux"):
        return LINUX_HINT
    if platform == "win32":
        return WINDOWS_HINT
    if platform == "darwin":
        return MAC_HINT
    return "pyvirtualcam supports Windows, macOS and Linux only"


class PyVirtualCamera:
    """:class:`VirtualCamera` on pyvirtualcam."""

    def __init__(self, camera: Any) -> None:
        self._camera = camera
        self.device = str(getattr(camera, "device", "virtual camera"))
        self.size = (int(camera.width), int(camera.height))

    def send(self, frame: np.ndarray) -> None:
        if (frame.shape[1], frame.shape[0]) != self.size:
            import cv2

            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._camera.send(np.ascontiguousarray(frame))

    def close(self) -> None:
        self._camera.close()


def open_virtual_camera(width: int, height: int, fps: float, device: str | None = None,
                        platform: str | None = None) -> PyVirtualCamera:
    """A virtual camera of ``width``×``height`` at ``fps``; OutputError saying what to install if none can open."""
    try:
        import pyvirtualcam
    except ImportError:
        raise OutputError("--virtual-cam needs the pyvirtualcam package: pip install 'stylecam[virtualcam]' "
                          f"(and {install_hint(platform)})") from None
    try:
        camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, device=device,
                                     print_fps=False)
    except (RuntimeError, OSError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        where = f" {device}" if device else ""
        raise OutputError(f"cannot open the virtual camera{where} ({detail}): {install_hint(platform)}") from None
    return PyVirtualCamera(camera)
