"""Losses: perceptual (content, style, TV) and temporal (warping, occlusion)."""
