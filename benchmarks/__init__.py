"""National-scale benchmarks (run: python -m benchmarks.run)."""
