"""Contract jobs: keep statuses current and warn owners before contracts expire."""
