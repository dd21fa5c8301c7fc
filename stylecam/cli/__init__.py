"""Console commands; each module is one command and imports torch only after parsing its arguments."""
