"""Inference backends behind one interface, for every command: a :class:`~stylecam.runtime.base.Backend` turns an
RGB uint8 frame into a stylized RGB uint8 frame of the same size, whatever runs it (PyTorch, ONNX Runtime,
TensorRT); :func:`~stylecam.runtime.select.open_backend` picks and opens one. Import-light: the command lines
read :data:`BACKEND_CHOICES` from here."""

BACKEND_CHOICES = ("auto", "torch", "onnx", "tensorrt")
