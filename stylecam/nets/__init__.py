"""Networks: Johnson's TransformerNet, the VGG19 loss network, AdaIN's encoder/decoder, and model files."""
