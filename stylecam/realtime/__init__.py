"""The live app (``stylecam``): sources, the capture/inference/output loop, effects and outputs (window, virtual
camera, MJPEG stream, recording). Its networks run through :mod:`stylecam.runtime`, like every command's."""
