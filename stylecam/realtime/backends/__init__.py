"""Inference backends behind one interface: a :class:`~stylecam.realtime.backends.base.Backend` turns an RGB uint8
frame into a stylized RGB uint8 frame of the same size, whatever runs it (PyTorch, ONNX Runtime, TensorRT)."""
