"""What the command line and the web show: JSON shapes, text tables, progress bars, plots."""
