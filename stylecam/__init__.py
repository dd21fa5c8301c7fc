"""stylecam: neural style transfer for webcams, images and videos.

The top-level package stays import-light (no torch) so command-line ``--help`` is instant.
"""

__version__ = "0.1.0"
