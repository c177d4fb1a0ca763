"""National scale: the raster pipeline over a whole country, window by window."""
