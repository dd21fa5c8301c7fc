"""Export: trained networks to ONNX and TensorRT (``export-onnx`` command)."""
