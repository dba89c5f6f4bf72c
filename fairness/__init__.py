"""fairness package."""
