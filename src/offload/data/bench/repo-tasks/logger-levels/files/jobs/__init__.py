"""Run jobs with retries."""
