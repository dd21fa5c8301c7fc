"""Image files in and out, tensor conversion, and colour transforms."""
