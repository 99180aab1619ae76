"""Routing: classify a request, choose candidates from the policy, run the verified cascade."""
