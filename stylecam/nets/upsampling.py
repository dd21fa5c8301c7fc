"""The decoder's enlargement modes, torch-free so that the CLI's ``--help`` can list them without importing torch."""

# How the decoder enlarges its features. Nearest-neighbour copies make every decision at the coarse grid's
# resolution, and on smooth oblique regions the network then draws the grid's staircase as a lattice of ±45° and
# upright lines (docs/zoo_gradients.jpg); bilinear enlargement passes on the slope instead.
UPSAMPLING = ("nearest", "bilinear")
