"""metakit."""
