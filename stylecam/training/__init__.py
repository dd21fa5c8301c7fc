"""Training: data, the shared loop (checkpoints, resume, DDP), Johnson and AdaIN tasks, model cards."""
