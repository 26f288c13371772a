"""Research on history: replay through the live engine, and its report."""
