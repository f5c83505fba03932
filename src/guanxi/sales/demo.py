"""Demo sales data (filled in by the sales demo step)."""
