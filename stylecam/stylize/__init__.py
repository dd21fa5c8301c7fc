"""Still-image stylization: feed-forward (Johnson), optimisation (Gatys) and AdaIN, with colour preservation."""
